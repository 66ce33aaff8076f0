package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.SamplerParams;
import io.ternion.gguf.GgmlType;
import io.ternion.gguf.TestData;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import io.ternion.tokenizer.HfTokenizerJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tools end to end on a tiny synthetic Qwen3 carrying Qwen3's tokenizer and chat template: tools and
 * tool results rendered exactly as the template renders them, and, with the model's text replaced
 * by a script (no tiny model chooses to call a tool), the reply's shapes: {@code tool_calls},
 * {@code reasoning_content}, {@code delta.tool_calls} with id and name first, malformed calls as text.
 */
class ToolCallsTest {
    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"The weather in a city\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}}]";
    static Path dir;
    static Model model;
    static ChatFormat format;
    static OpenAiServer server;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        Path tokenizer = TestData.require("tokenizers/qwen3-tokenizer.json.gz");
        HfTokenizerJson.Result tok = HfTokenizerJson.read(tokenizer);
        assertTrue(tok.chatTemplate() != null && tok.chatTemplate().contains("<tool_call>"), "Qwen3's template comes with its tokenizer");
        dir = Files.createTempDirectory("ternion-tools");
        Path file = dir.resolve("tiny-qwen3.gguf");
        // tiny-qwen3's shapes with room for Qwen3's whole vocabulary (the preset has 512 tokens).
        Preset tiny = Preset.ALL.get("tiny-qwen3");
        Preset shape = new Preset("tiny-qwen3-vocab", tiny.architecture(), tiny.dim(), tiny.layers(), tiny.heads(), tiny.kvHeads(), tiny.headDim(),
                tiny.ffnDim(), tok.vocabulary().size(), tiny.contextLength(), tiny.ropeTheta(), tiny.rmsEps(), tiny.types(), tiny.embeddingType(),
                tiny.tiedOutput(), "tiny-qwen3 with Qwen3's tokenizer");
        Synth.write(shape, GgmlType.Q1_0, 3, tok.vocabulary(), tok.chatTemplate(), file);
        model = Model.load(file, new Model.Options("cpu", 1, 2 * tiny.contextLength(), 64).withParallel(2));
        format = ChatFormat.forServer(model.file().metadata(), model.config().architecture(), model.tokenizer());
        server = new OpenAiServer(ServerSettings.local("tiny-qwen3", SamplerParams.GREEDY));
        server.listenerSeam = ServerFixture.SCRIPTED_REPLIES;
        server.start();
        server.serve(model, format);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) server.close();
        if (model != null) model.close();
        if (dir != null) try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(server.url() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode ok(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        return ServerFixture.JSON.readTree(r.body());
    }

    static Map<String, Object> message(String role, Object content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    @Test
    void toolsAreRenderedByTheTemplate() throws Exception {
        String messages = "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Weather in Paris?\"}]";
        String prompt = ok(post("/apply-template", "{\"messages\":" + messages + ",\"tools\":" + TOOLS + "}")).get("prompt").asText();
        String expected = format.render(List.of(message("system", "Be brief."), message("user", "Weather in Paris?")),
                Map.of("tools", ServerFixture.JSON.readTree(TOOLS)));
        assertEquals(expected, prompt);
        // transformers' tojson: the tool as the template's <tools> block lists it
        assertTrue(prompt.contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"The weather in a city\", "
                + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n</tools>"), prompt);
        assertTrue(prompt.startsWith("<|im_start|>system\nBe brief.\n\n# Tools"), prompt);
        // The chat request is given that prompt, token for token.
        JsonNode chat = ok(post("/v1/chat/completions", "{\"messages\":" + messages + ",\"tools\":" + TOOLS + ",\"max_tokens\":4}"));
        assertEquals(format.encodeRendered(expected).length, chat.get("usage").get("prompt_tokens").asInt());
        // tool_choice none: the tools are not shown
        String none = ok(post("/apply-template", "{\"messages\":" + messages + ",\"tools\":" + TOOLS + ",\"tool_choice\":\"none\"}")).get("prompt").asText();
        assertFalse(none.contains("<tools>"), none);
    }

    @Test
    void toolCallsAndResultsAreRenderedBack() throws Exception {
        String messages = "[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
                + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]},"
                + "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18 C, sunny\"}]";
        String prompt = ok(post("/apply-template", "{\"messages\":" + messages + ",\"tools\":" + TOOLS + "}")).get("prompt").asText();
        Map<String, Object> call = new LinkedHashMap<>();
        call.put("id", "call_1");
        call.put("type", "function");
        call.put("function", Map.of("name", "get_weather", "arguments", ServerFixture.JSON.readTree("{\"city\": \"Paris\"}")));
        Map<String, Object> assistant = message("assistant", "");
        assistant.put("tool_calls", List.of(call));
        Map<String, Object> tool = message("tool", "18 C, sunny");
        tool.put("tool_call_id", "call_1");
        String expected = format.render(List.of(message("user", "Weather in Paris?"), assistant, tool), Map.of("tools", ServerFixture.JSON.readTree(TOOLS)));
        assertEquals(expected, prompt);
        assertTrue(prompt.contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                + "<|im_start|>user\n<tool_response>\n18 C, sunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n"), prompt);
        ok(post("/v1/chat/completions", "{\"messages\":" + messages + ",\"tools\":" + TOOLS + ",\"max_tokens\":4}"));
    }

    @Test
    void aRequiredCallStartsTheAnswerAndAConfusedModelGivesText() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}],\"tools\":" + TOOLS
                + ",\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},\"max_tokens\":8";
        String prompt = ok(post("/apply-template", body + "}")).get("prompt").asText();
        assertTrue(prompt.endsWith("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "), prompt);
        // The random model does not finish the call: its text comes back as content, never an error. Seeds 0 and 2 make it
        // add only whitespace, so all of the content is settled at the sequence's end, which the answer must wait for.
        for (int seed = 0; seed < 6; seed++) {
            JsonNode r = ok(post("/v1/chat/completions", body + ",\"seed\":" + seed + "}"));
            JsonNode choice = r.get("choices").get(0);
            if (choice.get("message").has("tool_calls")) { // the random model closed the call after all
                assertEquals("get_weather", choice.get("message").get("tool_calls").get(0).get("function").get("name").asText(), r.toString());
                assertEquals("tool_calls", choice.get("finish_reason").asText());
            } else {
                assertTrue(choice.get("message").get("content").asText().startsWith("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "),
                        "seed " + seed + ": " + r);
                assertNotEquals("tool_calls", choice.get("finish_reason").asText());
            }
        }
        JsonNode streamed = ServerFixture.events(post("/v1/chat/completions", body + ",\"stream\":true}").body()).getLast();
        assertTrue(streamed.has("choices"), streamed.toString());
    }

    static final String SCRIPT = "[\"<think>\",\"\\nThe user wants\",\" the weather.\\n</think>\\n\\n\",\"<tool\",\"_call>\\n{\\\"name\\\": \\\"get_weather\\\", \","
            + "\"\\\"arguments\\\": {\\\"city\\\": \\\"Paris\\\"}}\\n</tool_call>\"]";

    @Test
    void aToolCallIsMessageToolCalls() throws Exception {
        JsonNode r = ok(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"}],\"tools\":" + TOOLS
                + ",\"max_tokens\":8,\"x_script\":" + SCRIPT + "}"));
        JsonNode choice = r.get("choices").get(0);
        assertEquals("tool_calls", choice.get("finish_reason").asText(), r.toString());
        JsonNode message = choice.get("message");
        assertTrue(message.get("content").isNull(), r.toString());
        assertEquals("The user wants the weather.", message.get("reasoning_content").asText());
        JsonNode call = message.get("tool_calls").get(0);
        assertTrue(call.get("id").asText().startsWith("call_"), call.toString());
        assertEquals("function", call.get("type").asText());
        assertEquals("get_weather", call.get("function").get("name").asText());
        assertEquals(ServerFixture.JSON.readTree("{\"city\":\"Paris\"}"), ServerFixture.JSON.readTree(call.get("function").get("arguments").asText()));
        assertEquals(1, message.get("tool_calls").size());
    }

    @Test
    void aStreamedToolCallIsDeltaToolCalls() throws Exception {
        List<JsonNode> events = ServerFixture.events(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],\"tools\":" + TOOLS
                + ",\"max_tokens\":8,\"stream\":true,\"x_script\":" + SCRIPT.replace("\"<tool\"", "\"Let me look.\",\" \",\"<tool\"") + "}").body());
        StringBuilder content = new StringBuilder(), reasoning = new StringBuilder(), arguments = new StringBuilder();
        String finish = null, id = null, name = null;
        int callChunks = 0;
        for (JsonNode e : events) {
            JsonNode choice = e.get("choices").get(0);
            JsonNode delta = choice.get("delta");
            if (delta.has("content") && !delta.get("content").isNull()) content.append(delta.get("content").asText());
            if (delta.has("reasoning_content")) reasoning.append(delta.get("reasoning_content").asText());
            if (delta.has("tool_calls")) {
                JsonNode tc = delta.get("tool_calls").get(0);
                assertEquals(0, tc.get("index").asInt());
                if (callChunks++ == 0) { // the first names the call
                    id = tc.get("id").asText();
                    name = tc.get("function").get("name").asText();
                    assertEquals("function", tc.get("type").asText());
                } else {
                    assertFalse(tc.has("id"), "the id comes once");
                }
                arguments.append(tc.get("function").get("arguments").asText());
            }
            if (!choice.get("finish_reason").isNull()) finish = choice.get("finish_reason").asText();
        }
        // Text before the call is content; the <think> markers and the call's text never are.
        assertEquals("Let me look.", content.toString());
        assertEquals("The user wants the weather.", reasoning.toString());
        assertEquals(2, callChunks, "id and name, then the arguments");
        assertTrue(id.startsWith("call_"), id);
        assertEquals("get_weather", name);
        assertEquals(ServerFixture.JSON.readTree("{\"city\":\"Paris\"}"), ServerFixture.JSON.readTree(arguments.toString()));
        assertEquals("tool_calls", finish);
    }

    @Test
    void malformedToolCallTextIsContent() throws Exception {
        String script = "[\"<tool_call>\\n{\\\"name\\\": get_weather}\\n</tool_call>\"]";
        JsonNode r = ok(post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],\"tools\":" + TOOLS
                + ",\"max_tokens\":8,\"x_script\":" + script + "}"));
        JsonNode choice = r.get("choices").get(0);
        assertEquals("stop", choice.get("finish_reason").asText());
        assertFalse(choice.get("message").has("tool_calls"), r.toString());
        assertEquals("<tool_call>\n{\"name\": get_weather}\n</tool_call>", choice.get("message").get("content").asText());
    }
}
