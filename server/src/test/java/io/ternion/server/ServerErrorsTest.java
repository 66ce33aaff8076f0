package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.ternion.engine.SamplerParams;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every bad request gets OpenAI's error object with the right status, and the server keeps serving. */
class ServerErrorsTest {
    static final int PER_SLOT = 64;
    static ServerFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = new ServerFixture(2, PER_SLOT, ServerFixture.settings().withApiKey("sk-test"));
    }

    @AfterAll
    static void stop() {
        if (f != null) f.close();
    }

    private static final String KEY = "Bearer sk-test";

    private static JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), r.headers().toString());
        JsonNode e = ServerFixture.JSON.readTree(r.body()).get("error");
        for (String field : new String[] {"message", "type", "param", "code"}) assertTrue(e.has(field), field + " in " + r.body());
        assertFalse(e.get("message").asText().isBlank());
        assertFalse(r.body().contains("at io.ternion"), "no stack trace: " + r.body());
        return e;
    }

    private static HttpResponse<String> chat(String body) throws Exception {
        return f.post("/v1/chat/completions", body, "Authorization", KEY);
    }

    @Test
    void malformedJsonIs400() throws Exception {
        JsonNode e = error(chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}"), 400);
        assertTrue(e.get("message").asText().contains("not valid JSON"), e.toString());
        error(chat(""), 400);
        error(chat("[1, 2]"), 400);
        error(chat("\"just a string\""), 400);
        error(chat("{\"messages\": [], \"x\": " + "[".repeat(5000) + "]".repeat(5000) + "}"), 400);
    }

    @Test
    void wrongFieldTypesAre400NamingTheField() throws Exception {
        String[][] cases = {
                {"{\"messages\":\"hi\"}", "messages"},
                {"{}", "messages"},
                {"{\"messages\":[]}", "messages"},
                {"{\"messages\":[42]}", "messages[0]"},
                {"{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", "messages[0].role"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":{\"a\":1}}]}", "messages[0].content"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}}]}]}", "messages[0].content"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":\"hot\"}", "temperature"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":7}", "temperature"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1.5}", "max_tokens"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-5}", "max_tokens"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"top_k\":\"5\"}", "top_k"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":7}", "stop"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stop\":[\"a\",3]}", "stop"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":\"yes\"}", "stream"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"seed\":\"x\"}", "seed"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"presence_penalty\":9}", "presence_penalty"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":2}", "n"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":{\"name\":\"f\"}}", "tools"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"web\",\"function\":{\"name\":\"f\"}}]}", "tools[0].type"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":{}}]}", "tools[0].function.name"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}}", "tool_choice"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":\"always\"}", "tool_choice"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tool_choice\":\"required\"}", "tool_choice"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\"}]}]}", "messages[1].tool_calls[0].function"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"tool_calls\":[]}]}", "messages[0].tool_calls"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"chat_template_kwargs\":[1]}", "chat_template_kwargs"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":{\"type\":\"json_object\"}}", "response_format"},
        };
        for (String[] c : cases) {
            JsonNode e = error(chat(c[0]), 400);
            assertEquals(c[1], e.get("param").asText(), c[0] + " -> " + e);
            assertEquals("invalid_request_error", e.get("type").asText());
        }
        error(f.post("/v1/completions", "{\"prompt\":42}", "Authorization", KEY), 400);
        error(f.post("/v1/completions", "{\"prompt\":[\"a\",\"b\"]}", "Authorization", KEY), 400);
        error(f.post("/v1/completions", "{\"prompt\":[1, 99999999]}", "Authorization", KEY), 400);
        error(f.post("/tokenize", "{\"content\":5}", "Authorization", KEY), 400);
        error(f.post("/detokenize", "{\"tokens\":[1,-4]}", "Authorization", KEY), 400);
        error(f.post("/detokenize", "{\"tokens\":\"1 2\"}", "Authorization", KEY), 400);
    }

    @Test
    void aBodyOverTheLimitIs413() throws Exception {
        String big = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat((int) ServerSettings.DEFAULT_MAX_BODY_BYTES) + "\"}]}";
        error(chat(big), 413);
        // without a Content-Length (chunked): counted while read
        HttpRequest chunked = HttpRequest.newBuilder(f.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(60))
                .header("Authorization", KEY)
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big.getBytes()))).build();
        error(f.http.send(chunked, HttpResponse.BodyHandlers.ofString()), 413);
    }

    @Test
    void aMissingOrWrongKeyIs401AndHealthNeedsNone() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}";
        error(f.post("/v1/chat/completions", body), 401);
        error(f.post("/v1/chat/completions", body, "Authorization", "Bearer sk-wrong"), 401);
        error(f.post("/v1/chat/completions", body, "Authorization", "sk-test"), 401);
        error(f.get("/v1/models"), 401);
        error(f.get("/metrics"), 401);
        assertEquals(200, f.get("/health").statusCode());
        assertEquals(200, chat(body).statusCode());
    }

    @Test
    void aPromptLongerThanTheSlotIs400WithTheNumbers() throws Exception {
        JsonNode e = error(chat("{\"messages\":[{\"role\":\"user\",\"content\":\"" + "Once upon a time. ".repeat(40) + "\"}]}"), 400);
        assertEquals("context_length_exceeded", e.get("code").asText());
        assertTrue(e.get("message").asText().contains("a slot's context holds " + PER_SLOT), e.toString());
        assertTrue(e.get("message").asText().matches("the prompt is \\d+ tokens.*"), e.toString());
    }

    @Test
    void unknownRoutesAre404AndWrongMethods405() throws Exception {
        JsonNode e = error(f.get("/v1/nothing", "Authorization", KEY), 404);
        assertTrue(e.get("message").asText().contains("/v1/nothing"));
        HttpResponse<String> r = f.get("/v1/chat/completions", "Authorization", KEY);
        error(r, 405);
        assertEquals("POST", r.headers().firstValue("allow").orElse(""));
        error(f.post("/health", "{}"), 405);
    }

    @Test
    void theServerStillAnswersAfterAllOfThat() throws Exception {
        malformedJsonIs400();
        wrongFieldTypesAre400NamingTheField();
        HttpResponse<String> r = chat("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3,\"temperature\":0}");
        assertEquals(200, r.statusCode(), r.body());
    }

    @Test
    void whileLoadingHealthIs503AndGenerationToo() throws Exception {
        try (OpenAiServer loading = new OpenAiServer(ServerSettings.local("m", SamplerParams.DEFAULTS))) {
            loading.start();
            var http = f.http;
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(java.net.URI.create(loading.url() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, health.statusCode());
            assertEquals("loading", ServerFixture.JSON.readTree(health.body()).get("status").asText());
            HttpResponse<String> chat = http.send(HttpRequest.newBuilder(java.net.URI.create(loading.url() + "/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            error(chat, 503);
        }
    }
}
