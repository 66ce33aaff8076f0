package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.chat.Message;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.Metadata;
import io.ternion.gguf.TestData;
import io.ternion.graph.Log;
import io.ternion.tokenizer.HfTokenizerJson;
import io.ternion.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ChatFormatTest {
    private static final List<Message> TURNS = List.of(Message.system("Be brief."), Message.user("Hi!"));

    private static String logOf(Runnable r) {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true);
        Log.setSink(ps::println);
        try {
            r.run();
        } finally {
            Log.setSink(null);
        }
        return log.toString();
    }

    @Test
    void theModelsOwnTemplateWinsAndBosIsNotDoubled() throws IOException {
        HfTokenizerJson.Result llama = HfTokenizerJson.read(TestData.require("tokenizers/llama3-tokenizer.json.gz"));
        Tokenizer tok = Tokenizer.of(llama.vocabulary());
        Metadata md = Metadata.of("m", Map.of("tokenizer.chat_template", io.ternion.gguf.MetadataValue.string(llama.chatTemplate())));
        String[] fmt = new String[1];
        String log = logOf(() -> fmt[0] = ChatFormat.forModel(md, "llama", tok).render(TURNS));
        assertEquals("", log, "no note when the model has a template");
        assertEquals("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", fmt[0]);
        int[] ids = ChatFormat.forModel(md, "llama", tok).encode(TURNS);
        assertEquals(128000, ids[0]);
        assertNotEquals(128000, ids[1], "one BOS: the template writes it, the tokenizer must not add another");
        assertEquals(1, Arrays.stream(ids).filter(i -> i == 128009).count() - 1, "two <|eot_id|> as tokens, not text");
    }

    private static final String LLAMA3_TURNS = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            + "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";

    private static Metadata withTemplate(String template) {
        return Metadata.of("m", Map.of("tokenizer.chat_template", io.ternion.gguf.MetadataValue.string(template)));
    }

    @Test
    void aModelTemplateThatFailsToRenderGivesWayToTheBuiltInOneForGood() throws IOException {
        Tokenizer tok = Tokenizer.of(HfTokenizerJson.read(TestData.require("tokenizers/llama3-tokenizer.json.gz")).vocabulary());
        // recurses without end: a StackOverflowError and exit 1 before the chat module had limits
        Metadata hostile = withTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        String[] out = new String[2];
        ChatFormat[] fmt = new ChatFormat[1];
        String log = logOf(() -> assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            fmt[0] = ChatFormat.forModel(hostile, "llama", tok);
            out[0] = fmt[0].render(TURNS);
            out[1] = fmt[0].render(TURNS);
        }));
        assertEquals(LLAMA3_TURNS, out[0], "the built-in Llama 3 template, chosen as if the file had none");
        assertEquals(LLAMA3_TURNS, out[1]);
        assertEquals(1, log.lines().count(), "said once: " + log);
        assertTrue(log.contains("tokenizer.chat_template failed to render: macro recursion depth exceeds 100"), log);
        assertTrue(log.contains("using the built-in Llama 3 template instead"), log);
        assertEquals("built-in Llama 3", fmt[0].name());
        assertEquals(128000, fmt[0].encode(TURNS)[0]);

        // a template's own raise_exception is a template error too
        String[] text = new String[1];
        log = logOf(() -> text[0] = ChatFormat.forModel(withTemplate("{{ raise_exception('no system role') }}"), "bitnet-b1.58", tok).render(TURNS));
        assertTrue(log.contains("failed to render: no system role (line 1, column 19); using the built-in BitNet b1.58 template"), log);
        assertEquals("<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi!<|eot_id|>Assistant: ", text[0]);
    }

    /** A server renders many clients' conversations: one that the template refuses must not change the template for the others. */
    @Test
    void forAServerARenderErrorGoesToItsConversationAndTheTemplateStays() throws IOException {
        Tokenizer tok = Tokenizer.of(HfTokenizerJson.read(TestData.require("tokenizers/llama3-tokenizer.json.gz")).vocabulary());
        ChatFormat f = ChatFormat.forServer(withTemplate("{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
                + "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}"), "llama", tok);
        assertThrows(io.ternion.chat.TemplateException.class, () -> f.render(TURNS));
        assertEquals("[user] Hi!", f.render(List.of(Message.user("Hi!"))));
        assertEquals("the model's tokenizer.chat_template", f.name());

        // one that cannot render a single user turn is replaced at once
        String[] out = new String[1];
        String log = logOf(() -> out[0] = ChatFormat.forServer(withTemplate("{{ raise_exception('broken') }}"), "llama", tok).render(TURNS));
        assertEquals(LLAMA3_TURNS, out[0]);
        assertTrue(log.contains("fails: broken"), log);
    }

    @Test
    void aModelTemplateThatFailsToCompileGivesWayToTheBuiltInOne() throws IOException {
        Tokenizer tok = Tokenizer.of(HfTokenizerJson.read(TestData.require("tokenizers/llama3-tokenizer.json.gz")).vocabulary());
        Metadata hostile = withTemplate("{{ " + "(".repeat(10_000) + "1" + ")".repeat(10_000) + " }}");
        String[] out = new String[1];
        String log = logOf(() -> assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            ChatFormat f = ChatFormat.forModel(hostile, "llama", tok);
            assertEquals("built-in Llama 3", f.name());
            out[0] = f.render(TURNS);
        }));
        assertEquals(LLAMA3_TURNS, out[0]);
        assertEquals(1, log.lines().count(), "said once: " + log);
        assertTrue(log.contains("tokenizer.chat_template does not compile: nesting depth exceeds 100 (line 1, column 104); "
                + "using the built-in Llama 3 template instead"), log);
    }

    @Test
    void withoutATemplateTheArchitectureAndVocabularyChoose() throws IOException {
        HfTokenizerJson.Result llama = HfTokenizerJson.read(TestData.require("tokenizers/llama3-tokenizer.json.gz"));
        Tokenizer llamaTok = Tokenizer.of(llama.vocabulary());
        Metadata none = Metadata.of("m", Map.of());

        String[] out = new String[1];
        String log = logOf(() -> out[0] = ChatFormat.forModel(none, "bitnet-b1.58", llamaTok).render(TURNS));
        assertTrue(log.contains("built-in BitNet b1.58 template"), log);
        assertEquals("<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi!<|eot_id|>Assistant: ", out[0]);

        log = logOf(() -> out[0] = ChatFormat.forModel(none, "llama", llamaTok).render(TURNS));
        assertTrue(log.contains("built-in Llama 3 template"), log);
        assertTrue(out[0].startsWith("<|begin_of_text|><|start_header_id|>system"), out[0]);

        Tokenizer qwen = Tokenizer.of(HfTokenizerJson.read(TestData.require("tokenizers/qwen3-tokenizer.json.gz")).vocabulary());
        log = logOf(() -> out[0] = ChatFormat.forModel(none, "qwen3", qwen).render(TURNS));
        assertTrue(log.contains("ChatML"), log);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", out[0]);

        try (GgufFile stories = GgufFile.open(TestData.bundledModel())) {
            Tokenizer tok = Tokenizer.fromGguf(stories.metadata());
            log = logOf(() -> out[0] = ChatFormat.forModel(stories.metadata(), "llama", tok).render(TURNS));
            assertTrue(log.contains("plain"), log);
            assertEquals("<s>System: Be brief.\nUser: Hi!\nAssistant:", out[0]);
        }
    }
}
