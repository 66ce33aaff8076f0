package io.ternion.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ternion.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;

/** The routes. Each request runs on its own virtual thread and may block. */
final class ApiHandler extends Handler.Abstract {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A route: its path, the one method it takes, and whether it needs the API key. */
    private enum Route {
        HEALTH("GET", false), MODELS("GET", true), CHAT("POST", true), COMPLETIONS("POST", true), METRICS("GET", true),
        TOKENIZE("POST", true), DETOKENIZE("POST", true), APPLY_TEMPLATE("POST", true);

        final String method;
        final boolean keyed;

        Route(String method, boolean keyed) {
            this.method = method;
            this.keyed = keyed;
        }

        /** llama-server answers both with and without the /v1 prefix; so does this. */
        static Route of(String path) {
            return switch (path) {
                case "/health", "/v1/health" -> HEALTH;
                case "/v1/models", "/models" -> MODELS;
                case "/v1/chat/completions", "/chat/completions" -> CHAT;
                case "/v1/completions", "/completions" -> COMPLETIONS;
                case "/metrics" -> METRICS;
                case "/tokenize" -> TOKENIZE;
                case "/detokenize" -> DETOKENIZE;
                case "/apply-template" -> APPLY_TEMPLATE;
                default -> null;
            };
        }
    }

    private final OpenAiServer server;
    private final byte[] apiKey;

    ApiHandler(OpenAiServer server) {
        this.server = server;
        String key = server.settings().apiKey();
        this.apiKey = key == null ? null : key.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        Route route = Route.of(path);
        int status = 200;
        try {
            if (route == null) throw ApiError.notFound(request.getMethod(), path);
            if (!route.method.equals(request.getMethod())) throw ApiError.methodNotAllowed(request.getMethod(), path, route.method);
            if (route.keyed) checkKey(request);
            if (route == Route.HEALTH) {
                boolean up = server.ready() != null;
                status = up ? 200 : 503;
                sendJson(response, status, JSON.createObjectNode().put("status", up ? "ok" : "loading"));
            } else {
                OpenAiServer.Ready ready = server.ready();
                if (ready == null) throw ApiError.loading();
                switch (route) {
                    case MODELS -> sendJson(response, 200, models(ready));
                    case METRICS -> {
                        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                        write(response, true, server.metrics().render(ready.scheduler().busySlots(), ready.scheduler().slots(),
                                ready.scheduler().waitingCount()));
                    }
                    case TOKENIZE -> sendJson(response, 200, tokenize(ready, readJson(request)));
                    case DETOKENIZE -> sendJson(response, 200, detokenize(ready, readJson(request)));
                    case APPLY_TEMPLATE -> sendJson(response, 200, applyTemplate(ready, readJson(request)));
                    case CHAT -> new Completion(server, ready, request, response, true).run(chatPrompt(ready, readJson(request)));
                    case COMPLETIONS -> new Completion(server, ready, request, response, false).run(textPrompt(ready, readJson(request)));
                    default -> throw new IllegalStateException(route.name());
                }
            }
            callback.succeeded();
        } catch (ApiError e) {
            status = e.status;
            sendError(request, response, callback, e);
        } catch (Completion.ClientGone e) {
            status = 499; // nginx's "client closed request": nothing could be sent
            callback.failed(e.getCause());
        } catch (Throwable e) {
            status = 500;
            // A bug, not the client's doing: the client learns only that it happened; stderr gets the trace.
            System.err.println("ternion: error: " + request.getMethod() + " " + path + ": " + e);
            e.printStackTrace(System.err);
            sendError(request, response, callback, ApiError.internal("internal error: " + e.getClass().getSimpleName()));
        } finally {
            server.metrics().request(route == null ? "unknown" : route.name().toLowerCase(java.util.Locale.ROOT), status);
        }
        return true;
    }

    private void checkKey(Request request) {
        if (apiKey == null) return;
        String header = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (header == null) throw ApiError.unauthorized("this server needs an API key: send Authorization: Bearer KEY");
        byte[] given = header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip().getBytes(StandardCharsets.UTF_8) : new byte[0];
        if (!MessageDigest.isEqual(given, apiKey)) throw ApiError.unauthorized("the API key is wrong");
    }

    /**
     * The body as a JSON object; a body over the limit is refused without being kept. Up to
     * {@link #DRAIN_FACTOR} times the limit is read and dropped first: a client still sending its
     * body when the connection closed would see a reset instead of the 413 (the openai clients and
     * Java's HttpClient both did).
     */
    private JsonNode readJson(Request request) throws IOException {
        long limit = server.settings().maxBodyBytes();
        if (request.getLength() > limit) {
            if (request.getLength() <= DRAIN_FACTOR * limit) drain(request);
            throw ApiError.tooLarge(limit);
        }
        byte[] body;
        try (InputStream in = Request.asInputStream(request)) {
            body = in.readNBytes((int) Math.min(limit + 1, Integer.MAX_VALUE - 8));
            if (body.length > limit) {
                drainStream(in, (DRAIN_FACTOR - 1) * limit);
                throw ApiError.tooLarge(limit);
            }
        }
        if (body.length == 0) throw ApiError.badRequest("the request body is empty; it must be a JSON object", null);
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw ApiError.badRequest("the request body is not valid JSON: " + e.getOriginalMessage()
                    + (at != null ? " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")" : ""), null);
        }
        if (node == null || !node.isObject()) throw ApiError.badRequest("the request body must be a JSON object, not " + (node == null ? "empty" : Fields.kind(node)), null);
        return node;
    }

    /** How much of an oversized body is read and dropped before the 413, as a multiple of the limit. */
    private static final long DRAIN_FACTOR = 4;

    private static void drain(Request request) throws IOException {
        try (InputStream in = Request.asInputStream(request)) {
            drainStream(in, request.getLength());
        }
    }

    private static void drainStream(InputStream in, long atMost) throws IOException {
        byte[] buf = new byte[1 << 16];
        for (long left = atMost; left > 0; ) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, left));
            if (n < 0) return;
            left -= n;
        }
    }

    private ObjectNode models(OpenAiServer.Ready r) {
        ObjectNode model = JSON.createObjectNode()
                .put("id", server.settings().modelId())
                .put("object", "model")
                .put("created", server.created())
                .put("owned_by", "ternion");
        model.putObject("meta")
                .put("architecture", r.model().config().architecture())
                .put("vocab_size", r.model().config().vocabSize())
                .put("slots", r.scheduler().slots())
                .put("context_length_per_slot", r.scheduler().contextLength())
                .put("backend", r.model().backendName())
                .put("chat_template", r.format().name());
        ObjectNode list = JSON.createObjectNode().put("object", "list");
        list.putArray("data").add(model);
        return list;
    }

    private static ObjectNode tokenize(OpenAiServer.Ready r, JsonNode body) {
        String content = Fields.string(body, "content", null);
        if (content == null) throw ApiError.badRequest("content is required: the text to tokenize", "content");
        boolean addSpecial = Fields.bool(body, "add_special", false);
        boolean parseSpecial = Fields.bool(body, "parse_special", true);
        Tokenizer tok = r.model().tokenizer();
        int[] ids = tok.encode(content, addSpecial && tok.addsBos(), parseSpecial);
        ObjectNode out = JSON.createObjectNode();
        ArrayNode tokens = out.putArray("tokens");
        for (int id : ids) tokens.add(id);
        return out;
    }

    private static ObjectNode detokenize(OpenAiServer.Ready r, JsonNode body) {
        JsonNode tokens = body.get("tokens");
        if (tokens == null || tokens.isNull()) throw ApiError.badRequest("tokens is required: a list of token ids", "tokens");
        if (!tokens.isArray()) throw ApiError.badRequest("tokens must be a list of token ids, not " + Fields.kind(tokens), "tokens");
        int vocab = r.model().tokenizer().vocabulary().size();
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode t = tokens.get(i);
            if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0 || t.asInt() >= vocab) {
                throw ApiError.badRequest("tokens[" + i + "] must be a token id from 0 to " + (vocab - 1), "tokens");
            }
            ids[i] = t.asInt();
        }
        return JSON.createObjectNode().put("content", r.model().tokenizer().decode(ids));
    }

    /** A chat request: its settings and its messages (and tools) rendered through the chat template. */
    private Completion.Prompt chatPrompt(OpenAiServer.Ready r, JsonNode body) {
        Sampling sampling = Sampling.parse(body, server.settings().defaults(), server.settings().defaultMaxTokens(),
                "max_completion_tokens", "max_tokens");
        JsonNode format = Fields.object(body, "response_format");
        if (format != null && !"text".equals(Fields.string(format, "type", "text"))) {
            throw ApiError.badRequest("response_format " + format.get("type").asText() + " is not supported by ternion yet: only text", "response_format");
        }
        ChatRequest chat = chatRequest(r, body);
        int[] ids = r.format().encodeRendered(chat.text());
        return new Completion.Prompt(ids, sampling, chat.parsed() ? chat : null, body);
    }

    private static ChatRequest chatRequest(OpenAiServer.Ready r, JsonNode body) {
        boolean llamaVocabulary = r.model().tokenizer().vocabulary().id("<|start_header_id|>") >= 0;
        return ChatRequest.of(r.format(), llamaVocabulary, body);
    }

    /** llama-server's /apply-template: the prompt a chat request would be given, as text, without generating. */
    private static ObjectNode applyTemplate(OpenAiServer.Ready r, JsonNode body) {
        return JSON.createObjectNode().put("prompt", chatRequest(r, body).text());
    }

    /** A text completion request: the prompt as {@code ternion run -p} reads it (BOS as the model has it). */
    private Completion.Prompt textPrompt(OpenAiServer.Ready r, JsonNode body) {
        Sampling sampling = Sampling.parse(body, server.settings().defaults(), server.settings().defaultMaxTokens(), "max_tokens");
        if (Fields.bool(body, "echo", false)) throw ApiError.badRequest("echo is not supported by ternion yet", "echo");
        if (Fields.present(body, "suffix")) throw ApiError.badRequest("suffix (fill in the middle) is not supported by ternion yet", "suffix");
        Long bestOf = Fields.integer(body, "best_of", 1, Integer.MAX_VALUE);
        if (bestOf != null && bestOf != 1) throw ApiError.badRequest("best_of must be 1", "best_of");
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) throw ApiError.badRequest("prompt is required", "prompt");
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) p = p.get(0);
        int[] ids;
        if (p.isTextual()) {
            ids = r.model().tokenizer().encode(p.asText());
        } else if (p.isArray() && !p.isEmpty() && p.get(0).isNumber()) {
            ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = p.get(i);
                if (!t.isIntegralNumber() || !t.canConvertToInt()) throw ApiError.badRequest("prompt[" + i + "] must be a token id", "prompt");
                ids[i] = t.asInt();
            }
        } else {
            throw ApiError.badRequest("prompt must be a string (or a list of one string, or of token ids), not " + Fields.kind(p)
                    + (p.isArray() ? " of " + p.size() + " items: one prompt per request" : ""), "prompt");
        }
        return new Completion.Prompt(ids, sampling, null, body);
    }

    static void sendJson(Response response, int status, JsonNode body) throws IOException {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        write(response, true, JSON.writeValueAsString(body));
    }

    static ObjectNode errorBody(ApiError e) {
        ObjectNode body = JSON.createObjectNode();
        body.putObject("error").put("message", e.getMessage()).put("type", e.type).put("param", e.param).put("code", e.code);
        return body;
    }

    private static void sendError(Request request, Response response, Callback callback, ApiError e) {
        if (response.isCommitted()) {
            callback.failed(e);
            return;
        }
        try {
            response.setStatus(e.status);
            if (e.headerName != null) response.getHeaders().put(e.headerName, e.headerValue);
            // A body left unread (oversized, or refused before it was read: a wrong key, a wrong
            // route, a body still arriving) means the connection cannot carry another request: saying
            // so keeps a client from reusing it (Java's HttpClient then saw "no bytes", after a 413
            // and, in a loaded build, after a 401 to a POST whose body came in a later packet).
            if (e.status == 413 || !request.consumeAvailable()) response.getHeaders().put(HttpHeader.CONNECTION, "close");
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            byte[] body = JSON.writeValueAsBytes(errorBody(e));
            response.write(true, ByteBuffer.wrap(body), callback);
        } catch (IOException io) {
            callback.failed(io);
        }
    }

    /** Writes and waits until the bytes are out; an {@link IOException} means the client has gone. */
    static void write(Response response, boolean last, String text) throws IOException {
        try (Blocker.Callback done = Blocker.callback()) {
            response.write(last, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), done);
            done.block();
        }
    }

    /** Jetty's own errors (a malformed request line, headers too large) in OpenAI's shape too. */
    static final class ErrorPages extends ErrorHandler {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            int status = request.getAttribute(ERROR_STATUS) instanceof Integer code ? code : 500;
            Object message = request.getAttribute(ERROR_MESSAGE);
            ObjectNode body = JSON.createObjectNode();
            body.putObject("error").put("message", message != null ? message.toString() : "HTTP " + status)
                    .put("type", status >= 500 ? "server_error" : "invalid_request_error").putNull("param").putNull("code");
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(body.toString().getBytes(StandardCharsets.UTF_8)), callback);
            return true;
        }

        @Override
        public ByteBuffer badMessageError(int status, String reason, org.eclipse.jetty.http.HttpFields.Mutable fields) {
            fields.put(HttpHeader.CONTENT_TYPE, "application/json");
            ObjectNode body = JSON.createObjectNode();
            body.putObject("error").put("message", reason != null ? reason : "bad request").put("type", "invalid_request_error")
                    .putNull("param").putNull("code");
            return ByteBuffer.wrap(body.toString().getBytes(StandardCharsets.UTF_8));
        }
    }
}
