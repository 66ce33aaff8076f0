package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.bundledModel;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import io.ternion.cli.InfoCommandTest.Result;
import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.TestData;
import io.ternion.gguf.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {

    @Test
    void printsIdsOnOneLine() {
        Result r = ternion("tokenize", "-m", bundledModel().toString(), "One day");
        assertEquals(0, r.code(), r.err());
        assertEquals("1 385 328\n", r.out());
        assertEquals("385 328\n", ternion("tokenize", "-m", bundledModel().toString(), "--no-bos", "One day").out());
    }

    @Test
    void piecesPrintsOneTokenPerLine() {
        Result r = ternion("tokenize", "-m", bundledModel().toString(), "--pieces", "One day");
        assertEquals(0, r.code(), r.err());
        assertEquals("1\t<s>\n385\t One\n328\t day\n", r.out());
    }

    @Test
    void readsAFileAndRejectsInvalidUtf8(@TempDir Path dir) throws IOException {
        Path good = dir.resolve("good.txt");
        Files.writeString(good, "One day");
        assertEquals("1 385 328\n", ternion("tokenize", "-m", bundledModel().toString(), "-f", good.toString()).out());

        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'a', 'b', (byte) 0xC3, '(', 'c'});
        Result r = ternion("tokenize", "-m", bundledModel().toString(), "-f", bad.toString());
        assertEquals(2, r.code());
        assertEquals("ternion: error: " + bad + ": invalid UTF-8 at byte 2\n", r.err());
    }

    @Test
    void worksFromATokenizerJsonWithoutAModel() {
        Path json = TestData.require("tokenizers/llama3-tokenizer.json.gz");
        Result r = ternion("tokenize", "--tokenizer", json.toString(), "--special", "Hello world<|eot_id|>");
        assertEquals(0, r.code(), r.err());
        assertEquals("128000 9906 1917 128009\n", r.out());
    }

    @Test
    void aModelWithoutATokenizerIsOneLineAndExit2(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("weights-only.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor(Tensor.of("w", GgmlType.F32, new long[] {4}, new byte[16])).write(p);
        Result r = ternion("tokenize", "-m", p.toString(), "hi");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("ternion: error: " + p + ": the model has no tokenizer"), r.err());
        assertEquals(1, r.err().lines().count());
    }

    @Test
    void needsTextOrAFile() {
        Result r = ternion("tokenize", "-m", bundledModel().toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Missing required argument"), r.err());
    }
}
