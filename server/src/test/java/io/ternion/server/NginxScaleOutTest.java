package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.ternion.chat.Message;
import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.SamplerParams;
import io.ternion.gguf.TestData;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scale-out as the README describes it: two replicas (each a process of its own, {@link Replica})
 * behind nginx, one killed while requests are in flight; nothing is lost, because nginx sends a
 * request whose replica fails before answering to the other one. Skipped with a message when
 * nginx is not installed, except under {@code CI=true}, where it fails.
 */
class NginxScaleOutTest {
    static final String[] PROMPTS = {"Once upon a time", "The little dog", "One day", "Lily and Ben"};
    static final int MAX_TOKENS = 48;

    @TempDir
    Path dir;

    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    final List<Process> processes = new ArrayList<>();

    private static String nginx() {
        for (String candidate : new String[] {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx", "/usr/bin/nginx"}) {
            if (Files.isExecutable(Path.of(candidate))) return candidate;
        }
        String why = "nginx is not installed (apt-get install nginx)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(why);
        Assumptions.abort(why + ": the scale-out test is skipped; under CI=true it fails");
        return null;
    }

    /** The README's configuration, with this test's ports and a prefix of its own. */
    static String config(Path prefix, int listen, int... replicas) {
        StringBuilder upstream = new StringBuilder();
        for (int port : replicas) upstream.append("        server 127.0.0.1:").append(port).append(" max_fails=1 fail_timeout=30s;\n");
        return """
                daemon off;
                master_process off;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log warn;
                events { worker_connections 512; }
                http {
                    access_log off;
                    client_body_temp_path %1$s/body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                    upstream ternion {
                %2$s        keepalive 16;
                    }
                    server {
                        listen 127.0.0.1:%3$d;
                        client_max_body_size 8m;
                        location / {
                            proxy_pass http://ternion;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_buffering off;
                            proxy_read_timeout 600s;
                            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
                            proxy_next_upstream_tries 2;
                        }
                    }
                }
                """.formatted(prefix, upstream, listen);
    }

    private Process replica() throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Replica.class.getName())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p);
        return p;
    }

    /** The port a replica prints once it is ready. */
    private static int port(Process replica) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(replica.getInputStream(), StandardCharsets.UTF_8));
        Future<String> line = Executors.newVirtualThreadPerTaskExecutor().submit(out::readLine);
        String text = line.get(60, TimeUnit.SECONDS);
        if (text == null || !text.startsWith("ternion: listening on http://")) fail("the replica printed " + text);
        return Integer.parseInt(text.substring(text.lastIndexOf(':') + 1).strip());
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private HttpResponse<String> post(int port, String path, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(120))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String body(String prompt, boolean stream) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}],\"temperature\":0,\"max_tokens\":" + MAX_TOKENS
                + (stream ? ",\"stream\":true" : "") + "}";
    }

    /** One request through nginx: must be 200 with the engine's greedy text. */
    private void check(int port, int i, String[] expected, boolean stream) throws Exception {
        int which = i % PROMPTS.length;
        HttpResponse<String> r = post(port, "/v1/chat/completions", body(PROMPTS[which], stream));
        assertEquals(200, r.statusCode(), "request " + i + ": " + r.body());
        String text;
        if (stream) {
            StringBuilder b = new StringBuilder();
            for (JsonNode e : ServerFixture.events(r.body())) {
                JsonNode delta = e.get("choices").get(0).get("delta");
                if (delta.has("content")) b.append(delta.get("content").asText());
            }
            text = b.toString();
        } else {
            text = ServerFixture.JSON.readTree(r.body()).get("choices").get(0).get("message").get("content").asText();
        }
        assertEquals(expected[which], text, "request " + i + " (" + PROMPTS[which] + ")");
    }

    private int requestsServed(int replicaPort) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + replicaPort + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        int n = 0;
        for (String line : r.body().split("\n")) {
            if (line.startsWith("ternion_requests_total{") && line.contains("route=\"chat\"")) n += (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        return n;
    }

    @Test
    @Timeout(300)
    void aReplicaKilledMidRunLosesNoRequest() throws Exception {
        String nginx = nginx();
        try {
            String[] expected = new String[PROMPTS.length];
            try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, Replica.PER_SLOT, 64))) {
                ChatFormat format = ChatFormat.forServer(m.file().metadata(), m.config().architecture(), m.tokenizer());
                for (int i = 0; i < PROMPTS.length; i++) {
                    expected[i] = m.newSession().generate(format.encode(List.of(Message.user(PROMPTS[i]))), MAX_TOKENS, SamplerParams.GREEDY, (id, t) -> true).text();
                }
            }
            Process doomed = replica(), survivor = replica();
            int doomedPort = port(doomed), survivorPort = port(survivor);
            int listen = freePort();
            Files.writeString(dir.resolve("nginx.conf"), config(dir, listen, doomedPort, survivorPort));
            Process proxy = new ProcessBuilder(nginx, "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString(), "-e", dir.resolve("error.log").toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
            processes.add(proxy);
            awaitHealthy(listen, proxy);

            for (int i = 0; i < 20; i++) check(listen, i, expected, i % 5 == 4);
            assertTrue(requestsServed(doomedPort) > 0 && requestsServed(survivorPort) > 0, "nginx spreads requests over both replicas");

            // Many at once; one replica dies while they run.
            List<Future<?>> running = new ArrayList<>();
            try (ExecutorService clients = Executors.newFixedThreadPool(8)) {
                for (int i = 0; i < 24; i++) {
                    int n = 100 + i;
                    running.add(clients.submit(() -> {
                        check(listen, n, expected, false);
                        return null;
                    }));
                }
                Thread.sleep(150);
                doomed.destroyForcibly().waitFor();
                for (Future<?> f : running) f.get(120, TimeUnit.SECONDS);
            }
            for (int i = 0; i < 20; i++) check(listen, 200 + i, expected, i % 5 == 4);
            String log = Files.readString(dir.resolve("error.log"));
            assertTrue(log.contains("127.0.0.1:" + doomedPort), "nginx saw the replica fail and moved on:\n" + log);
            System.err.println("NginxScaleOutTest: what nginx saw of the killed replica:");
            log.lines().filter(l -> l.contains(":" + doomedPort)).limit(12).forEach(l -> System.err.println("  " + l.replaceFirst("^\\S+ \\S+ ", "")));
        } finally {
            for (Process p : processes) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private void awaitHealthy(int port, Process proxy) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!proxy.isAlive()) fail("nginx exited: " + Files.readString(dir.resolve("nginx.out")) + Files.readString(dir.resolve("error.log")));
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) return;
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        fail("nginx did not answer /health on port " + port);
    }
}
