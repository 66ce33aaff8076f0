package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.ternion.chat.Message;
import io.ternion.engine.Session;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAI routes on stories260K: greedy text as the engine gives it alone, streaming, stop strings, usage. */
class OpenAiServerTest {
    static final int SLOTS = 4, PER_SLOT = 256;
    static ServerFixture f;

    @BeforeAll
    static void start() throws Exception {
        f = new ServerFixture(SLOTS, PER_SLOT, ServerFixture.settings());
    }

    @AfterAll
    static void stop() {
        if (f != null) f.close();
    }

    private static String chatBody(String user, int maxTokens, String extra) {
        return "{\"model\":\"x\",\"messages\":[{\"role\":\"system\",\"content\":\"Tell a story.\"},{\"role\":\"user\",\"content\":"
                + ServerFixture.JSON.valueToTree(user) + "}],\"temperature\":0,\"max_tokens\":" + maxTokens + extra + "}";
    }

    private static int[] chatTokens(String user) {
        return f.chatTokens(List.of(Message.system("Tell a story."), Message.user(user)));
    }

    @Test
    void healthAndModels() throws Exception {
        HttpResponse<String> health = f.get("/health");
        assertEquals(200, health.statusCode());
        assertEquals("ok", ServerFixture.JSON.readTree(health.body()).get("status").asText());
        JsonNode models = ServerFixture.JSON.readTree(f.get("/v1/models").body());
        assertEquals("list", models.get("object").asText());
        assertEquals("stories260K", models.get("data").get(0).get("id").asText());
        assertEquals(PER_SLOT, models.get("data").get(0).get("meta").get("context_length_per_slot").asInt());
    }

    @Test
    void chatIsTheEnginesGreedyText() throws Exception {
        Session.Result alone = ServerFixture.alone(chatTokens("Once upon a time"), 40, PER_SLOT);
        HttpResponse<String> r = f.post("/v1/chat/completions", chatBody("Once upon a time", 40, ""));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
        JsonNode body = ServerFixture.JSON.readTree(r.body());
        assertEquals("chat.completion", body.get("object").asText());
        assertTrue(body.get("id").asText().startsWith("chatcmpl-"));
        assertEquals("stories260K", body.get("model").asText());
        JsonNode choice = body.get("choices").get(0);
        assertEquals("assistant", choice.get("message").get("role").asText());
        assertEquals(alone.text(), choice.get("message").get("content").asText());
        assertEquals(alone.stop() == Session.StopReason.MAX_TOKENS ? "length" : "stop", choice.get("finish_reason").asText());
        JsonNode usage = body.get("usage");
        assertEquals(chatTokens("Once upon a time").length, usage.get("prompt_tokens").asInt());
        assertEquals(alone.tokens().length, usage.get("completion_tokens").asInt());
        assertEquals(usage.get("prompt_tokens").asInt() + usage.get("completion_tokens").asInt(), usage.get("total_tokens").asInt());
    }

    @Test
    void streamedChatIsTheSameText() throws Exception {
        Session.Result alone = ServerFixture.alone(chatTokens("The little dog"), 30, PER_SLOT);
        HttpResponse<String> r = f.post("/v1/chat/completions", chatBody("The little dog", 30,
                ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> events = ServerFixture.events(r.body());
        StringBuilder text = new StringBuilder();
        String finish = null;
        assertEquals("assistant", events.getFirst().get("choices").get(0).get("delta").get("role").asText());
        for (JsonNode e : events) {
            assertEquals("chat.completion.chunk", e.get("object").asText());
            assertTrue(e.has("usage"), "with include_usage every chunk has a usage field");
            for (JsonNode c : e.get("choices")) {
                if (c.get("delta").has("content")) text.append(c.get("delta").get("content").asText());
                if (!c.get("finish_reason").isNull()) finish = c.get("finish_reason").asText();
            }
        }
        assertEquals(alone.text(), text.toString());
        assertEquals(alone.stop() == Session.StopReason.MAX_TOKENS ? "length" : "stop", finish);
        JsonNode last = events.getLast();
        assertEquals(0, last.get("choices").size());
        assertEquals(alone.tokens().length, last.get("usage").get("completion_tokens").asInt());
    }

    @Test
    void textCompletionIsTheEnginesGreedyText() throws Exception {
        int[] prompt = f.model.tokenizer().encode("Once upon a time");
        Session.Result alone = ServerFixture.alone(prompt, 25, PER_SLOT);
        HttpResponse<String> r = f.post("/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":25,\"temperature\":0}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = ServerFixture.JSON.readTree(r.body());
        assertEquals("text_completion", body.get("object").asText());
        assertEquals(alone.text(), body.get("choices").get(0).get("text").asText());
        assertEquals(prompt.length, body.get("usage").get("prompt_tokens").asInt());

        HttpResponse<String> s = f.post("/v1/completions", "{\"prompt\":[\"Once upon a time\"],\"max_tokens\":25,\"temperature\":0,\"stream\":true}");
        StringBuilder text = new StringBuilder();
        for (JsonNode e : ServerFixture.events(s.body())) text.append(e.get("choices").get(0).get("text").asText());
        assertEquals(alone.text(), text.toString());
    }

    @Test
    void stopStringsCutTheTextAndAreLeftOut() throws Exception {
        Session.Result alone = ServerFixture.alone(chatTokens("Once upon a time"), 60, PER_SLOT);
        String full = alone.text();
        // A stop string from the middle of the greedy text, spanning what are likely several tokens.
        int at = full.length() / 2;
        String stop = full.substring(at, Math.min(full.length(), at + 5));
        String expected = full.substring(0, full.indexOf(stop));
        for (String stream : new String[] {"false", "true"}) {
            HttpResponse<String> r = f.post("/v1/chat/completions", chatBody("Once upon a time", 60,
                    ",\"stop\":[\"zzzz-never\"," + ServerFixture.JSON.valueToTree(stop) + "],\"stream\":" + stream));
            assertEquals(200, r.statusCode(), r.body());
            String text;
            String finish;
            if (stream.equals("true")) {
                StringBuilder sb = new StringBuilder();
                finish = null;
                for (JsonNode e : ServerFixture.events(r.body())) {
                    JsonNode c = e.get("choices").get(0);
                    if (c.get("delta").has("content")) sb.append(c.get("delta").get("content").asText());
                    if (!c.get("finish_reason").isNull()) finish = c.get("finish_reason").asText();
                }
                text = sb.toString();
            } else {
                JsonNode c = ServerFixture.JSON.readTree(r.body()).get("choices").get(0);
                text = c.get("message").get("content").asText();
                finish = c.get("finish_reason").asText();
            }
            assertEquals(expected, text, "stream " + stream + ", stop " + stop);
            assertEquals("stop", finish);
        }
    }

    @Test
    void maxTokensEndsWithLength() throws Exception {
        HttpResponse<String> r = f.post("/v1/chat/completions", chatBody("Once upon a time", 3, ""));
        JsonNode body = ServerFixture.JSON.readTree(r.body());
        assertEquals("length", body.get("choices").get(0).get("finish_reason").asText());
        assertEquals(3, body.get("usage").get("completion_tokens").asInt());
        // max_completion_tokens wins over max_tokens, as in OpenAI's API.
        r = f.post("/v1/chat/completions", chatBody("Once upon a time", 30, ",\"max_completion_tokens\":2"));
        assertEquals(2, ServerFixture.JSON.readTree(r.body()).get("usage").get("completion_tokens").asInt());
    }

    @Test
    void seededSamplingRepeatsAndPenaltiesApply() throws Exception {
        String body = chatBody("Once upon a time", 30, "").replace("\"temperature\":0", "\"temperature\":0.9,\"seed\":42");
        String a = ServerFixture.JSON.readTree(f.post("/v1/chat/completions", body).body()).get("choices").get(0).get("message").get("content").asText();
        String b = ServerFixture.JSON.readTree(f.post("/v1/chat/completions", body).body()).get("choices").get(0).get("message").get("content").asText();
        assertEquals(a, b);
        String greedy = ServerFixture.JSON.readTree(f.post("/v1/chat/completions", chatBody("Once upon a time", 40, "")).body())
                .get("choices").get(0).get("message").get("content").asText();
        String penalized = ServerFixture.JSON.readTree(f.post("/v1/chat/completions",
                chatBody("Once upon a time", 40, ",\"frequency_penalty\":2,\"presence_penalty\":2")).body())
                .get("choices").get(0).get("message").get("content").asText();
        assertFalse(greedy.equals(penalized), "penalties of 2 change a greedy story of 40 tokens");
    }

    @Test
    void contentAsPartsAndToolRole() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Once upon\"},{\"type\":\"text\",\"text\":\"a time\"}]},"
                + "{\"role\":\"assistant\",\"content\":null},{\"role\":\"tool\",\"content\":\"42\"},{\"role\":\"developer\",\"content\":\"Be brief.\"}],"
                + "\"temperature\":0,\"max_tokens\":5}";
        HttpResponse<String> r = f.post("/v1/chat/completions", body);
        assertEquals(200, r.statusCode(), r.body());
    }

    /** stories260K's built-in template knows nothing of tools: they are described in a system message, calls written as text. */
    @Test
    void aTemplateWithoutToolsGetsThemDescribed() throws Exception {
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}]";
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                + "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"18 C\"}],\"tools\":" + tools + "}";
        String prompt = ServerFixture.JSON.readTree(f.post("/apply-template", body).body()).get("prompt").asText();
        String tool = "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}";
        String expected = f.model.tokenizer().vocabulary().token(f.model.tokenizer().vocabulary().bos())
                + "System: " + ToolSyntax.HERMES.describe(tool) + "\nUser: Weather?\n"
                + "Assistant: <tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}\n</tool_call>\nTool: 18 C\nAssistant:";
        assertEquals(expected, prompt);
        // A character-level vocabulary makes that prompt longer than a slot here: a clear 400, not a failure.
        HttpResponse<String> r = f.post("/v1/chat/completions", body.substring(0, body.length() - 1) + ",\"max_tokens\":3}");
        assertEquals(400, r.statusCode(), r.body());
        assertEquals("context_length_exceeded", ServerFixture.JSON.readTree(r.body()).get("error").get("code").asText(), r.body());
    }

    @Test
    void tokenizeAndDetokenize() throws Exception {
        JsonNode t = ServerFixture.JSON.readTree(f.post("/tokenize", "{\"content\":\"One day\"}").body());
        int[] expected = f.model.tokenizer().encode("One day", false, true);
        assertEquals(expected.length, t.get("tokens").size());
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], t.get("tokens").get(i).asInt());
        JsonNode d = ServerFixture.JSON.readTree(f.post("/detokenize", "{\"tokens\":" + t.get("tokens") + "}").body());
        assertEquals("One day", d.get("content").asText());
        JsonNode withBos = ServerFixture.JSON.readTree(f.post("/tokenize", "{\"content\":\"One day\",\"add_special\":true}").body());
        assertEquals(expected.length + 1, withBos.get("tokens").size());
    }

    @Test
    void metricsCountRequestsAndTokens() throws Exception {
        f.post("/v1/completions", "{\"prompt\":\"One day\",\"max_tokens\":4,\"temperature\":0}");
        HttpResponse<String> r = f.get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
        for (String name : new String[] {"ternion_requests_total{route=\"completions\",status=\"200\"}", "ternion_prompt_tokens_total",
                "ternion_generated_tokens_total", "ternion_generation_tokens_per_second", "ternion_prompt_tokens_per_second",
                "ternion_slots " + SLOTS, "ternion_slots_busy", "ternion_queue_length"}) {
            assertTrue(r.body().contains(name), name + " in\n" + r.body());
        }
        assertNotNull(r.body());
    }
}
