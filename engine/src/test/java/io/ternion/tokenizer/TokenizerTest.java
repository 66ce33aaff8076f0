package io.ternion.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgufArray;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.Metadata;
import io.ternion.gguf.TestData;
import io.ternion.graph.Log;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {

    @Test
    void storiesModelTokenizesLikeThePeers() throws IOException {
        // The peer-case README: "One day" is [1, 385, 328] with the stories260K vocabulary.
        Tokenizer t = Tokenizer.load(TestData.bundledModel());
        assertTrue(t.addsBos());
        assertArrayEquals(new int[] {1, 385, 328}, t.encode("One day"));
        assertArrayEquals(new int[] {1}, t.encode(""));
        assertEquals("One day", t.decode(t.encode("One day")));
    }

    @Test
    void specialTokenTextIsParsedOnlyWhenAsked() throws IOException {
        Tokenizer t = TokenizerVectorsTest.tokenizer("llama-bpe");
        int eot = t.vocabulary().id("<|eot_id|>");
        assertEquals(128009, eot);
        int[] parsed = t.encode("Hi<|eot_id|>", false, true);
        assertEquals(eot, parsed[parsed.length - 1]);
        int[] plain = t.encode("Hi<|eot_id|>", false, false);
        assertTrue(Arrays.stream(plain).noneMatch(id -> id == eot), Arrays.toString(plain));
        assertTrue(plain.length > parsed.length);
        // Control tokens print nothing in text, their name as a piece.
        assertEquals("Hi", t.decode(parsed));
        assertEquals("<|eot_id|>", t.piece(eot));
        assertTrue(t.isControl(eot));
        assertEquals(128000, t.encode("x")[0], "Llama 3 adds BOS");
    }

    /** Bytes of one character split over tokens are held back, never printed as U+FFFD. */
    @Test
    void streamingDecoderHoldsSplitCharacters() throws IOException {
        for (String name : new String[] {"llama-bpe", "llama-spm", "qwen2"}) {
            Tokenizer t = TokenizerVectorsTest.tokenizer(name);
            String text = "🦙 llamas 😶‍🌫️ and 🚀, Cửa Việt, កាន់តែ";
            int[] ids = t.encode(text, false, false);
            StreamingDecoder d = t.newDecoder();
            StringBuilder sb = new StringBuilder();
            boolean heldSomething = false;
            for (int id : ids) {
                String piece = d.next(id);
                assertFalse(piece.contains("\uFFFD"), name + ": U+FFFD after token " + id);
                if (piece.isEmpty()) heldSomething = true;
                sb.append(piece);
            }
            sb.append(d.flush());
            assertEquals(text, sb.toString(), name);
            assertTrue(heldSomething, name + ": the text should have split characters across tokens");
        }
    }

    @Test
    void bytesThatCanNeverBeUtf8PrintAsReplacement() throws IOException {
        Tokenizer t = TokenizerVectorsTest.tokenizer("llama-spm");
        int ff = t.vocabulary().id("<0xFF>"), a = t.vocabulary().id("<0x41>"), f0 = t.vocabulary().id("<0xF0>");
        StreamingDecoder d = t.newDecoder();
        assertEquals("\uFFFDA", d.next(ff) + d.next(a));
        assertEquals("", d.next(f0));
        assertEquals("\uFFFD", d.flush(), "an incomplete character at the end");
    }

    @Test
    void llama3VocabularyWithoutPreIsDetected(@TempDir Path dir) throws IOException {
        Tokenizer llama = TokenizerVectorsTest.tokenizer("llama-bpe");
        Vocabulary v = llama.vocabulary();
        Vocabulary noPre = copy(v, null);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(log, true);
        Log.setSink(ps::println);
        try {
            Tokenizer t = Tokenizer.of(noPre);
            assertArrayEquals(llama.encode("Hello world 123456", false, false), t.encode("Hello world 123456", false, false));
        } finally {
            Log.setSink(null);
        }
        assertTrue(log.toString().contains("llama-bpe"), log.toString());
    }

    private static Vocabulary copy(Vocabulary v, String pre) {
        String[] tokens = new String[v.size()];
        int[] types = new int[v.size()];
        for (int i = 0; i < tokens.length; i++) { tokens[i] = v.token(i); types[i] = v.type(i); }
        return new Vocabulary(v.model(), pre, tokens, null, types, v.merges(), v.bos(), v.eos(), v.eot(),
                v.unknown(), v.padding(), v.addBosOrNull(), v.addSpacePrefix());
    }

    @Test
    void anUnknownPreTokenizerIsAnErrorNamingIt() throws IOException {
        Vocabulary v = copy(TokenizerVectorsTest.tokenizer("gpt-2").vocabulary(), "tekken-9000");
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.of(v));
        assertTrue(e.getMessage().contains("'tekken-9000'"), e.getMessage());
    }

    @Test
    void inconsistentTokenizerDataIsAClearError(@TempDir Path dir) throws IOException {
        Metadata noTokenizer = Metadata.of("x.gguf", java.util.Map.of());
        assertTrue(assertThrows(TokenizerException.class, () -> Tokenizer.fromGguf(noTokenizer)).getMessage().contains("no tokenizer"));

        Path p = dir.resolve("short-scores.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", GgufArray.ofStrings("<unk>", "<s>", "</s>", "a"))
                .putArray("tokenizer.ggml.scores", GgufArray.ofFloats(0, 0, 0))
                .write(p);
        TokenizerException e = assertThrows(TokenizerException.class, () -> Tokenizer.load(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("scores has 3 entries but there are 4 tokens"), e.getMessage());

        Path badBos = dir.resolve("bad-bos.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", GgufArray.ofStrings("<unk>", "<s>"))
                .putUInt32("tokenizer.ggml.bos_token_id", 7)
                .write(badBos);
        assertTrue(assertThrows(TokenizerException.class, () -> Tokenizer.load(badBos)).getMessage().contains("bos token id 7"));

        Path bert = dir.resolve("bert.gguf");
        new GgufWriter().putString("tokenizer.ggml.model", "bert")
                .putArray("tokenizer.ggml.tokens", GgufArray.ofStrings("a")).write(bert);
        assertTrue(assertThrows(TokenizerException.class, () -> Tokenizer.load(bert)).getMessage().contains("'bert' is not supported"));
    }

    @Test
    void bpeVocabularyWritesAndReadsBackThroughGguf(@TempDir Path dir) throws IOException {
        Vocabulary v = TokenizerVectorsTest.tokenizer("qwen2").vocabulary();
        Path p = dir.resolve("qwen.gguf");
        GgufWriter w = new GgufWriter();
        v.writeTo(w);
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            Vocabulary back = Vocabulary.fromGguf(f.metadata());
            assertEquals(v.size(), back.size());
            assertEquals("qwen2", back.pre());
            assertEquals(v.eos(), back.eos());
            assertEquals(v.id("<|im_end|>"), back.eot());
            assertArrayEquals(v.merges(), back.merges());
        }
    }
}
