package io.ternion.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code ternion serve} end to end: flags, the listening line, and the same reply as {@code ternion run --chat --temp 0}. */
class ServeCommandTest {
    private static final Pattern LISTENING = Pattern.compile("ternion: listening on (http://\\S+)");

    @Test
    @Timeout(120)
    void aGreedyChatThroughTheServerIsRunsChatReply() throws Exception {
        String model = InfoCommandTest.bundledModel().toString();
        // serve's slots of -c 256 / -np 2 = 128 positions, as run's -c 128
        InfoCommandTest.Result run = InfoCommandTest.ternion("run", "-m", model, "--backend", "cpu", "-t", "1", "-c", "128",
                "--chat", "--temp", "0", "-n", "30", "-p", "Once upon a time");
        assertEquals(0, run.code(), run.err());

        StringWriter out = new StringWriter(), err = new StringWriter();
        int[] code = {-1};
        Thread serve = new Thread(() -> code[0] = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "serve", "-m", model,
                "--backend", "cpu", "-t", "1", "-c", "256", "-np", "2", "--port", "0", "--alias", "tiny"));
        serve.start();
        try {
            String url = null;
            for (long deadline = System.nanoTime() + 30_000_000_000L; url == null && System.nanoTime() < deadline; Thread.sleep(20)) {
                Matcher m = LISTENING.matcher(out.toString());
                if (m.find()) url = m.group(1);
                assertTrue(serve.isAlive() || url != null, "serve ended: " + err);
            }
            assertTrue(url != null && !url.endsWith(":0"), "the listening line names the chosen port: " + out);
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> health = null;
            for (long deadline = System.nanoTime() + 30_000_000_000L; System.nanoTime() < deadline; Thread.sleep(20)) {
                health = http.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                if (health.statusCode() == 200) break;
                assertEquals(503, health.statusCode(), "loading: " + health.body());
            }
            assertEquals(200, health.statusCode());
            HttpResponse<String> chat = http.send(HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions")).timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"temperature\":0,\"max_tokens\":30}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, chat.statusCode(), chat.body());
            JsonNode body = new ObjectMapper().readTree(chat.body());
            assertEquals("tiny", body.get("model").asText());
            assertEquals(run.out().stripTrailing(), body.get("choices").get(0).get("message").get("content").asText().stripTrailing());
            assertTrue(err.toString().contains("ternion: ready: tiny, 2 slots of 128 positions"), err.toString());
        } finally {
            serve.interrupt();
            serve.join(10_000);
        }
        assertFalse(serve.isAlive());
        assertEquals(0, code[0], err.toString());
    }

    @Test
    void badFlagsAreOneErrorLine() {
        String[][] cases = {{"--port", "70000"}, {"-np", "0"}, {"--queue", "-3"}, {"--timeout", "0"}, {"--api-key", ""}};
        for (String[] flags : cases) {
            String[] args = new String[flags.length + 3];
            args[0] = "serve";
            args[1] = "--port";
            args[2] = "0";
            System.arraycopy(flags, 0, args, 3, flags.length);
            InfoCommandTest.Result r = InfoCommandTest.ternion(args);
            assertEquals(Main.USER_ERROR, r.code(), String.join(" ", flags) + ": " + r.err());
            assertTrue(r.err().startsWith("ternion: error: "), r.err());
            assertFalse(r.err().contains("\tat "), r.err());
        }
    }

    @Test
    void aPortInUseIsOneErrorLine() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            InfoCommandTest.Result r = InfoCommandTest.ternion("serve", "--port", "" + taken.getLocalPort());
            assertEquals(Main.USER_ERROR, r.code(), r.err());
            assertTrue(r.err().startsWith("ternion: error: cannot listen on 127.0.0.1:" + taken.getLocalPort()), r.err());
        }
    }
}
