package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.chat.Message;
import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.SamplerParams;
import io.ternion.engine.Session;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A server on the bundled stories260K model (cpu backend, a free port) and an HTTP client for it. */
final class ServerFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int THREADS = 1;

    final Model model;
    final OpenAiServer server;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    ServerFixture(int slots, int perSlot, ServerSettings settings) throws Exception {
        this(slots, perSlot, settings, -1);
    }

    /** With {@code --context-shift} keeping {@code shiftKeep} tokens (−1: off, as by default). */
    ServerFixture(int slots, int perSlot, ServerSettings settings, int shiftKeep) throws Exception {
        model = Model.load(TestData.bundledModel(), new Model.Options("cpu", THREADS, slots * perSlot, 64).withParallel(slots));
        server = new OpenAiServer(settings);
        server.start();
        server.serve(model, ChatFormat.forServer(model.file().metadata(), model.config().architecture(), model.tokenizer()), shiftKeep);
    }

    static ServerSettings settings() {
        return ServerSettings.local("stories260K", SamplerParams.DEFAULTS);
    }

    /**
     * For {@link OpenAiServer#listenerSeam}: a request with {@code "x_script": [pieces]} gets those
     * pieces as its reply, all at the model's first token (a random model may end early), then ends.
     */
    static final OpenAiServer.ListenerSeam SCRIPTED_REPLIES = (body, listener) -> {
        JsonNode script = body.get("x_script");
        if (script == null) return listener;
        return (id, piece) -> {
            for (JsonNode p : script) listener.onToken(id, p.asText());
            return false;
        };
    };

    URI uri(String path) {
        return URI.create(server.url() + path);
    }

    HttpResponse<String> post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60)).GET();
        if (headers.length > 0) b.headers(headers);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The JSON objects of an SSE body, up to (not including) {@code [DONE]}, which must end it. */
    static List<JsonNode> events(String body) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        boolean done = false;
        for (String line : body.split("\n")) {
            if (line.isEmpty()) continue;
            if (done) throw new AssertionError("data after [DONE]: " + line);
            if (!line.startsWith("data: ")) throw new AssertionError("not an SSE data line: " + line);
            String data = line.substring(6);
            if (data.equals("[DONE]")) done = true;
            else out.add(JSON.readTree(data));
        }
        assertEquals(true, done, "the stream must end with data: [DONE]");
        return out;
    }

    /** What the engine alone generates for these tokens, greedily, on a model of its own (Session uses slot 0). */
    static Session.Result alone(int[] prompt, int maxTokens, int perSlot) throws IOException {
        return alone(prompt, maxTokens, perSlot, SamplerParams.GREEDY);
    }

    static Session.Result alone(int[] prompt, int maxTokens, int perSlot, SamplerParams params) throws IOException {
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", THREADS, perSlot, 64))) {
            return m.newSession().generate(prompt, maxTokens, params, (id, text) -> true);
        }
    }

    /** The same for many prompts, each from an empty cache. */
    static List<Session.Result> alone(List<int[]> prompts, int maxTokens, int perSlot) throws IOException {
        List<Session.Result> out = new ArrayList<>();
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", THREADS, perSlot, 64))) {
            for (int[] p : prompts) out.add(m.newSession().generate(p, maxTokens, SamplerParams.GREEDY, (id, text) -> true));
        }
        return out;
    }

    int[] chatTokens(List<Message> messages) {
        return ChatFormat.forServer(model.file().metadata(), model.config().architecture(), model.tokenizer()).encode(messages);
    }

    @Override
    public void close() {
        server.close();
        model.close();
    }
}
