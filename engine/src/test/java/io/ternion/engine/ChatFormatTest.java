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
