package io.ternion.tokenizer;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgufFile;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * llama.cpp's tokenizer test vectors (made with Hugging Face, no BOS, special text as plain text):
 * every input must give exactly the expected ids.
 */
class TokenizerVectorsTest {
    /** Shared by other test classes, so not a JUnit @TempDir (which exists only while this class runs). */
    private static Path tmp;

    private static synchronized Path tmp() throws IOException {
        if (tmp == null) {
            tmp = Files.createTempDirectory("ternion-vocab");
            tmp.toFile().deleteOnExit();
        }
        return tmp;
    }

    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    /** The tokenizer for a vocab name: from its vocab GGUF, or built from tokenizer.json through our GGUF writer. */
    static Tokenizer tokenizer(String name) throws IOException {
        Tokenizer t = TOKENIZERS.get(name);
        if (t != null) return t;
        Path gguf = switch (name) {
            case "llama-bpe" -> writeVocabGguf("llama3-tokenizer.json.gz", name);
            case "qwen2" -> writeVocabGguf("qwen3-tokenizer.json.gz", name);
            default -> TestData.require("vocab/ggml-vocab-" + name + ".gguf");
        };
        try (GgufFile f = GgufFile.open(gguf)) {
            t = Tokenizer.fromGguf(f.metadata());
        }
        TOKENIZERS.put(name, t);
        return t;
    }

    private static Path writeVocabGguf(String json, String name) throws IOException {
        HfTokenizerJson.Result r = HfTokenizerJson.read(TestData.require("tokenizers/" + json));
        assertEquals(name, r.vocabulary().pre());
        Path out = tmp().resolve("ggml-vocab-" + name + ".gguf");
        out.toFile().deleteOnExit();
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama").putString("general.name", name);
        r.vocabulary().writeTo(w);
        if (r.chatTemplate() != null) w.putString("tokenizer.chat_template", r.chatTemplate());
        w.write(out);
        return out;
    }

    record Case(String input, int[] ids) {}

    static List<Case> cases(String name) throws IOException {
        String inp = Files.readString(TestData.require("vocab/ggml-vocab-" + name + ".gguf.inp"), StandardCharsets.UTF_8);
        List<String> outs = Files.readAllLines(TestData.require("vocab/ggml-vocab-" + name + ".gguf.out"), StandardCharsets.UTF_8);
        String[] inputs = inp.split("\n__ggml_vocab_test__\n", -1);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < inputs.length - 1; i++) { // the file ends with the separator: drop the empty tail
            String line = outs.get(i).trim();
            int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" +")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(inputs[i], ids));
        }
        assertEquals(46, cases.size());
        return cases;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "phi-3", "gpt-2", "starcoder", "falcon", "deepseek-coder", "llama-bpe", "qwen2"})
    void encodesEveryVectorExactly(String name) throws IOException {
        Tokenizer t = tokenizer(name);
        List<String> failures = new ArrayList<>();
        for (Case c : cases(name)) {
            int[] got = t.encode(c.input(), false, false);
            if (!Arrays.equals(c.ids(), got)) {
                failures.add(String.format("%s%n    expected %s%n    got      %s", escape(c.input()), Arrays.toString(c.ids()), Arrays.toString(got)));
            }
        }
        assertTrue(failures.isEmpty(), name + ": " + failures.size() + " of 46 inputs differ:\n" + String.join("\n", failures));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "phi-3", "gpt-2", "starcoder", "falcon", "deepseek-coder", "llama-bpe", "qwen2"})
    void decodeInvertsEncode(String name) throws IOException {
        Tokenizer t = tokenizer(name);
        for (Case c : cases(name)) {
            String expected = name.equals("qwen2") ? Normalizer.normalize(c.input(), Normalizer.Form.NFC) : c.input();
            assertEquals(expected, t.decode(t.encode(c.input(), false, false)), () -> name + ": " + escape(c.input()));
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp == '\n') sb.append("\\n");
            else if (cp == '\t') sb.append("\\t");
            else if (cp < 0x20) sb.append(String.format("\\x%02x", cp));
            else sb.appendCodePoint(cp);
        });
        return sb.append('"').toString();
    }
}
