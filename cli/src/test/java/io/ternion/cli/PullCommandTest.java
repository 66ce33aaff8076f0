package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.ternion.cli.InfoCommandTest.Result;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ternion pull} and {@code -hf} against a hub on loopback with the Hugging Face URL layout
 * ({@code /api/models/OWNER/REPO}, {@code /OWNER/REPO/resolve/main/FILE}, the sha256 as the
 * large-file ETag): a name resolves to its file, a broken download resumes with a Range request,
 * a corrupt one is refused and not kept, the token is sent, and a cached file is not fetched again.
 */
class PullCommandTest {
    @TempDir
    Path cache;
    HttpServer hub;
    byte[] model;
    String sha;
    /** Cut the next download after this many bytes (−1: no cut). */
    final AtomicInteger cutAfter = new AtomicInteger(-1);
    volatile boolean corrupt;
    final List<String> requests = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startHub() throws Exception {
        model = Files.readAllBytes(TestData.bundledModel());
        sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(model));
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.createContext("/", this::serve);
        hub.start();
        System.setProperty("ternion.hf.endpoint", "http://127.0.0.1:" + hub.getAddress().getPort());
        System.setProperty("ternion.cache", cache.toString());
        System.setProperty("ternion.hf.token", "secret-token");
    }

    @AfterEach
    void stopHub() {
        hub.stop(0);
        System.clearProperty("ternion.hf.endpoint");
        System.clearProperty("ternion.cache");
        System.clearProperty("ternion.hf.token");
    }

    private void serve(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath(), range = x.getRequestHeaders().getFirst("Range");
        requests.add(path + (range != null ? " " + range : "") + " " + x.getRequestHeaders().getFirst("Authorization"));
        switch (path) {
            case "/api/models/karpathy/stories" -> send(x, 200, ("{\"id\":\"karpathy/stories\",\"siblings\":[{\"rfilename\":\"README.md\"},"
                    + "{\"rfilename\":\"stories260K-F32.gguf\"},{\"rfilename\":\"stories260K-Q2_0.gguf\"}]}").getBytes(StandardCharsets.UTF_8));
            case "/karpathy/stories/resolve/main/stories260K-F32.gguf" -> {
                byte[] body = model.clone();
                if (corrupt) body[body.length / 2] ^= 1;
                int from = range == null ? 0 : Integer.parseInt(range.replaceAll("bytes=(\\d+)-", "$1"));
                x.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
                x.getResponseHeaders().add("Accept-Ranges", "bytes");
                int length = body.length - from, cut = cutAfter.getAndSet(-1);
                x.sendResponseHeaders(range == null ? 200 : 206, length);
                try (OutputStream out = x.getResponseBody()) {
                    out.write(body, from, cut >= 0 ? cut : length);
                    if (cut >= 0) out.flush();
                }
                // A cut: the stream ends short of Content-Length, as a dropped connection does.
            }
            default -> send(x, 404, "{\"error\":\"not found\"}".getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void send(HttpExchange x, int status, byte[] body) throws IOException {
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    private Path cached() {
        return cache.resolve("hf/karpathy/stories/stories260K-F32.gguf");
    }

    @Test
    void aQuantNamePicksItsFileAndTheTokenIsSent() throws IOException {
        Result r = ternion("pull", "karpathy/stories:F32");
        assertEquals(0, r.code(), r.err());
        assertEquals(cached().toString(), r.out().strip());
        assertArrayEquals(model, Files.readAllBytes(cached()));
        assertTrue(requests.stream().allMatch(q -> q.endsWith("Bearer secret-token")), requests.toString());

        requests.clear();
        Result again = ternion("pull", "hf://karpathy/stories/stories260K-F32.gguf");
        assertEquals(0, again.code(), again.err());
        assertTrue(requests.isEmpty(), "a cached file is not fetched again: " + requests);
    }

    @Test
    void hfRunsTheDownloadedModel() {
        Result r = ternion("run", "-hf", "karpathy/stories:f32", "-p", "Once upon a time", "-n", "8", "--temp", "0", "-c", "64");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time"), r.out());
        assertTrue(Files.isRegularFile(cached()));
    }

    @Test
    void anInterruptedDownloadResumesWhereItStopped() throws IOException {
        cutAfter.set(100_000);
        Result first = ternion("pull", "karpathy/stories:F32");
        assertEquals(2, first.code(), "a short download is an error: " + first.err());
        assertTrue(first.err().contains("run again to resume"), first.err());
        assertFalse(Files.exists(cached()), "no half file under the model's name");
        // What arrived before the cut: up to the 100000 bytes sent (a reset can drop the last of them).
        long kept = Files.size(cached().resolveSibling(cached().getFileName() + ".part"));
        assertTrue(kept > 0 && kept <= 100_000, "the part kept: " + kept);
        Result second = ternion("pull", "karpathy/stories:F32");
        assertEquals(0, second.code(), second.err());
        assertTrue(requests.stream().anyMatch(q -> q.contains(" bytes=" + kept + "-")), "the second request asks for the rest: " + requests);
        assertArrayEquals(model, Files.readAllBytes(cached()));
    }

    @Test
    void aCorruptDownloadIsRefusedAndNotKept() {
        corrupt = true;
        Result r = ternion("pull", "karpathy/stories:F32");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("is corrupt: its sha256 is") && r.err().contains("the hub says " + sha), r.err());
        assertFalse(Files.exists(cached()));
        assertFalse(Files.exists(cached().resolveSibling("stories260K-F32.gguf.part")), "a corrupt part is deleted, not resumed");
    }

    @Test
    void namesThatDoNotResolveSaySo() {
        Result two = ternion("pull", "karpathy/stories");
        assertEquals(2, two.code());
        assertTrue(two.err().contains("has 2 .gguf files: pick one with karpathy/stories:QUANT"), two.err());
        Result none = ternion("pull", "karpathy/stories:Q4_K_M");
        assertTrue(none.err().contains("has no .gguf file for Q4_K_M (it has stories260K-F32.gguf, stories260K-Q2_0.gguf)"), none.err());
        Result missing = ternion("pull", "karpathy/nothing");
        assertTrue(missing.err().contains("no repository karpathy/nothing"), missing.err());
        Result bad = ternion("pull", "../etc/passwd");
        assertTrue(bad.err().contains("is not a model name"), bad.err());
        Result escape = ternion("pull", "hf://karpathy/stories/../../x.gguf");
        assertTrue(escape.err().contains("is not a .gguf file name"), escape.err());
        Result both = ternion("run", "-hf", "karpathy/stories:F32", "-m", "x.gguf");
        assertTrue(both.err().contains("give -m or -hf, not both"), both.err());
    }
}
