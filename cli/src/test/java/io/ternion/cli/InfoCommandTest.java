package io.ternion.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufArray;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InfoCommandTest {
    record Result(int code, String out, String err) {}

    static Result ternion(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Result(code, out.toString(), err.toString());
    }

    /** {@link #ternion(String...)} with {@code stdin} as standard input. */
    static Result ternion(java.io.InputStream stdin, String... args) {
        java.io.InputStream saved = System.in;
        System.setIn(stdin);
        try {
            return ternion(args);
        } finally {
            System.setIn(saved);
        }
    }

    static Path bundledModel() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("models/stories260K.gguf"))) p = p.getParent();
        assertNotNull(p, "models/stories260K.gguf not found above the working directory");
        return p.resolve("models/stories260K.gguf");
    }

    @Test
    void describesTheBundledModel() {
        Result r = ternion("info", "-m", bundledModel().toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("architecture  llama"), r.out());
        assertTrue(r.out().contains("embedding_length                       64"), r.out());
        assertTrue(r.out().matches("(?s).*blk\\.4\\.ffn_down\\.weight\\s+F32\\s+\\[172, 64\\]\\s+44,032.*"), r.out());
        assertTrue(r.out().contains("model                                  llama"), r.out());
        assertEquals("", r.err());
    }

    @Test
    void jsonReportsTotalsThatAddUp() throws IOException {
        Result r = ternion("info", "--json", "-m", bundledModel().toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("llama", j.get("architecture").asText());
        assertEquals(3, j.get("gguf_version").asInt());
        assertEquals(512, j.at("/tokenizer/tokens").asInt());
        assertEquals(1, j.at("/tokenizer/bos_id").asInt());
        assertEquals(48, j.get("tensors").size());
        long bytes = 0, params = 0;
        for (JsonNode t : j.get("tensors")) {
            bytes += t.get("bytes").asLong();
            long n = 1;
            for (JsonNode d : t.get("shape")) n *= d.asLong();
            params += n;
        }
        assertEquals(bytes, j.at("/totals/tensor_bytes").asLong());
        assertEquals(params, j.at("/totals/parameters").asLong());
        assertEquals(32.0, j.at("/totals/bits_per_weight").asDouble());
        // stories260K has its own output.weight: per token the embedding contributes one 64-float row.
        assertFalse(j.at("/totals/tied_output").asBoolean());
        assertEquals(bytes - 64 * 512 * 4 + 64 * 4, j.at("/totals/weight_bytes_per_token").asLong());
    }

    /**
     * Rows of 256 per type: Q2_0's two block sizes share id 42 and are told apart by size, which
     * takes tensors of more than 64 × alignment elements (smaller ones fit both).
     */
    private static int rows(GgmlType type) { return type.id == GgmlType.Q2_0.id ? 16 : 2; }

    /** A file we wrote with a tensor of every type: info names each type and sizes it right. */
    @Test
    void describesFilesWithEveryTensorType(@TempDir Path dir) throws IOException {
        Random rnd = new Random(1);
        GgufWriter w = new GgufWriter().putString("general.architecture", "bitnet-b1.58")
                .putUInt32("bitnet-b1.58.embedding_length", 256)
                .putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", GgufArray.ofStrings("<unk>", "<s>", "</s>"));
        long expectedBytes = 0;
        for (GgmlType type : GgmlType.values()) {
            long[] shape = {256, rows(type)};
            float[] v = new float[256 * rows(type)];
            for (int i = 0; i < v.length; i++) v[i] = (rnd.nextInt(3) - 1) * 0.5f;
            byte[] bytes;
            if (type.canQuantize()) {
                bytes = type.quantize(v);
            } else {
                bytes = new byte[(int) type.byteSize(v.length)]; // all-zero blocks decode to zeros in every type
            }
            w.addTensor(Tensor.of("blk.0." + type.name().toLowerCase() + ".weight", type, shape, bytes));
            expectedBytes += bytes.length;
        }
        Path p = dir.resolve("every-type.gguf");
        w.write(p);

        Result r = ternion("info", "--json", "-m", p.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals(GgmlType.values().length, j.get("tensors").size());
        assertEquals(expectedBytes, j.at("/totals/tensor_bytes").asLong());
        for (GgmlType type : GgmlType.values()) {
            JsonNode t = j.at("/totals/by_type/" + type.name());
            assertEquals(1, t.get("tensors").asInt(), type.name());
            assertEquals(type.byteSize(256L * rows(type)), t.get("bytes").asLong(), type.name());
        }
        // No token_embd: nothing to discount, every byte is read per token.
        assertEquals(expectedBytes, j.at("/totals/weight_bytes_per_token").asLong());

        Result text = ternion("info", "-m", p.toString());
        assertEquals(0, text.code(), text.err());
        for (GgmlType type : GgmlType.values()) assertTrue(text.out().contains(" " + type.name() + " "), type + "\n" + text.out());
    }

    @Test
    void aTiedHeadCountsTheWholeEmbeddingPerToken(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("tied.gguf");
        new GgufWriter().putString("general.architecture", "llama")
                .addTensor(Tensor.of("token_embd.weight", GgmlType.F16, new long[] {64, 100}, new byte[64 * 100 * 2]))
                .addTensor(Tensor.of("blk.0.attn_q.weight", GgmlType.Q8_0, new long[] {64, 64}, new byte[64 * 2 * 34]))
                .write(p);
        JsonNode j = new ObjectMapper().readTree(ternion("info", "--json", "-m", p.toString()).out());
        assertTrue(j.at("/totals/tied_output").asBoolean());
        assertEquals(64 * 100 * 2 + 64 * 2 * 34, j.at("/totals/weight_bytes_per_token").asLong());
    }

    @Test
    void aTruncatedFileIsOneLineAndExitCode2(@TempDir Path dir) throws IOException {
        byte[] all = Files.readAllBytes(bundledModel());
        Path p = dir.resolve("cut.gguf");
        Files.write(p, java.util.Arrays.copyOf(all, 5000));
        Result r = ternion("info", "-m", p.toString());
        assertEquals(2, r.code());
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("ternion: error: " + p + ": at byte "), r.err());
        assertTrue(r.err().contains("truncated"), r.err());

        Result verbose = ternion("info", "--verbose", "-m", p.toString());
        assertEquals(2, verbose.code());
        assertTrue(verbose.err().contains("at io.ternion.gguf.GgufFile"), "--verbose adds the stack trace");
    }

    @Test
    void userMistakesExitWith2() {
        Result missing = ternion("info", "-m", "/no/such/model.gguf");
        assertEquals(2, missing.code());
        assertEquals("ternion: error: no such file: /no/such/model.gguf\n", missing.err());

        Result flag = ternion("info", "--no-such-flag");
        assertEquals(2, flag.code());
        assertTrue(flag.err().contains("Unknown option: '--no-such-flag'"), flag.err());

        Result notGguf = ternion("info", "-m", bundledModel().getParent().resolve("../pom.xml").normalize().toString());
        assertEquals(2, notGguf.code());
        assertTrue(notGguf.err().contains("not a GGUF file"), notGguf.err());
    }
}
