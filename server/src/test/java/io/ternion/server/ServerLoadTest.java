package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.ternion.chat.Message;
import io.ternion.engine.SamplerParams;
import io.ternion.engine.Session;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Clients that leave early, and many at once. */
class ServerLoadTest {
    /** Generation that only a limit ends: the end-of-text tokens are never sampled. */
    private static ServerSettings endless(int queue) {
        SamplerParams d = SamplerParams.GREEDY;
        return ServerSettings.local("stories260K", new SamplerParams(0f, d.topK(), d.topP(), d.minP(), 1f, 64, -1, true)).withQueue(queue);
    }

    private static void awaitIdle(ServerFixture f, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (f.server.ready().scheduler().busySlots() > 0 || f.server.ready().scheduler().waitingCount() > 0) {
            if (System.nanoTime() > deadline) throw new AssertionError("the slot is still busy " + millis + " ms after the client left");
            Thread.sleep(10);
        }
    }

    private static final String ENDLESS_CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"max_tokens\":-1%s}";

    @Test
    @Timeout(120)
    void anAbortedStreamFreesItsSlot() throws Exception {
        // One slot of 4096 positions and no queue: a second request gets the slot only if the first let it go.
        try (ServerFixture f = new ServerFixture(1, 4096, endless(0))) {
            HttpRequest request = HttpRequest.newBuilder(f.uri("/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(ENDLESS_CHAT.formatted(",\"stream\":true"))).build();
            HttpResponse<InputStream> r = f.http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, r.statusCode());
            BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
            for (int events = 0; events < 10; ) if (lines.readLine().startsWith("data: ")) events++;
            assertEquals(1, f.server.ready().scheduler().busySlots());
            lines.close();
            awaitIdle(f, 5000);
            HttpResponse<String> next = f.post("/v1/chat/completions", ENDLESS_CHAT.formatted("").replace("-1", "5"));
            assertEquals(200, next.statusCode(), next.body());
            String metrics = f.get("/metrics").body();
            long generated = metrics.lines().filter(l -> l.startsWith("ternion_generated_tokens_total ")).mapToLong(l -> Long.parseLong(l.split(" ")[1])).sum();
            assertTrue(generated < 4000, "the aborted stream stopped early, not at a full slot: " + generated + " tokens");
        }
    }

    @Test
    @Timeout(120)
    void aClientThatHangsUpOnAWholeAnswerFreesItsSlot() throws Exception {
        try (ServerFixture f = new ServerFixture(1, 4096, endless(0))) {
            // A raw socket, so that hanging up is certain to close the connection (a client library may keep it for reuse).
            byte[] body = ENDLESS_CHAT.formatted("").getBytes(StandardCharsets.UTF_8);
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", f.server.port())) {
                socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                        + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().write(body);
                socket.getOutputStream().flush();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (f.server.ready().scheduler().busySlots() == 0 && System.nanoTime() < deadline) Thread.sleep(5);
                assertEquals(1, f.server.ready().scheduler().busySlots());
            }
            awaitIdle(f, 5000);
            HttpResponse<String> next = f.post("/v1/chat/completions", ENDLESS_CHAT.formatted("").replace("-1", "5"));
            assertEquals(200, next.statusCode(), next.body());
        }
    }

    @Test
    @Timeout(180)
    void manyConcurrentStreamsEachGetTheirOwnTextOrA503() throws Exception {
        int slots = 4, perSlot = 128, queue = 8, clients = 32, maxTokens = 24;
        try (ServerFixture f = new ServerFixture(slots, perSlot, ServerFixture.settings().withQueue(queue))) {
            String[] names = {"Tom", "Lily", "Sue", "Ben", "Max", "Mia", "Sam", "Anna"};
            String[] openings = {"Once upon a time", "One day", "The little dog"};
            List<String> users = new ArrayList<>();
            List<int[]> prompts = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                String user = openings[i % openings.length] + ", " + names[i % names.length] + (i >= 24 ? " " + i : "");
                users.add(user);
                prompts.add(f.chatTokens(List.of(Message.user(user))));
            }
            List<Session.Result> expected = ServerFixture.alone(prompts, maxTokens, perSlot);
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            long heldBefore = heldHeap();
            long t0 = System.nanoTime();
            for (int i = 0; i < clients; i++) {
                String body = "{\"messages\":[{\"role\":\"user\",\"content\":" + ServerFixture.JSON.valueToTree(users.get(i))
                        + "}],\"temperature\":0,\"max_tokens\":" + maxTokens + ",\"stream\":true}";
                responses.add(f.http.sendAsync(HttpRequest.newBuilder(f.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(120))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            int ok = 0, busy = 0;
            for (int i = 0; i < clients; i++) {
                HttpResponse<String> r = responses.get(i).get(120, TimeUnit.SECONDS);
                if (r.statusCode() == 503) {
                    busy++;
                    assertEquals("1", r.headers().firstValue("retry-after").orElse(""));
                    assertEquals("server_busy", ServerFixture.JSON.readTree(r.body()).get("error").get("code").asText());
                    continue;
                }
                assertEquals(200, r.statusCode(), r.body());
                StringBuilder text = new StringBuilder();
                for (JsonNode e : ServerFixture.events(r.body())) {
                    JsonNode delta = e.get("choices").get(0).get("delta");
                    if (delta.has("content")) text.append(delta.get("content").asText());
                }
                assertEquals(expected.get(i).text(), text.toString(), "client " + i + " (" + users.get(i) + ")");
                ok++;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.err.printf("%d concurrent streams: %d answered, %d told 503, in %.2f s%n", clients, ok, busy, seconds);
            assertTrue(ok >= slots + queue, "a 503 comes only while slots + queue requests are in flight, each of which completes: " + ok);
            assertEquals(0, f.server.ready().scheduler().busySlots());
            long grown = heldHeap() - heldBefore;
            assertTrue(grown < 64L << 20, "the requests left " + (grown >> 20) + " MiB of heap held behind them");
        }
    }

    /** Heap still in use after a collection: what requests would leave behind if the server held on to them. */
    private static long heldHeap() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }
}
