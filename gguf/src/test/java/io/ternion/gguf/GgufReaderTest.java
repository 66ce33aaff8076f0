package io.ternion.gguf;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Reads real files written by llama.cpp, bitnet.cpp and PrismML's fork. */
class GgufReaderTest {

    @Test
    void readsTheBundledStoriesModel() throws IOException {
        try (GgufFile f = GgufFile.open(TestData.bundledModel())) {
            assertEquals(3, f.version());
            assertEquals("llama", f.architecture());
            Metadata md = f.metadata();
            assertEquals(64, md.getInt("llama.embedding_length"));
            assertEquals(5, md.getInt("llama.block_count"));
            assertEquals(8, md.getInt("llama.attention.head_count"));
            assertEquals(4, md.getInt("llama.attention.head_count_kv"));
            assertEquals(172, md.getInt("llama.feed_forward_length"));
            assertEquals(2048, md.getInt("llama.context_length"));
            assertEquals(1e-5f, md.getFloat("llama.attention.layer_norm_rms_epsilon"), 1e-9f);
            assertEquals("llama", md.getString("tokenizer.ggml.model"));
            assertEquals(512, md.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals(512, md.getFloatArray("tokenizer.ggml.scores").length);
            assertEquals(512, md.getIntArray("tokenizer.ggml.token_type").length);
            assertEquals(1, md.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(2, md.getInt("tokenizer.ggml.eos_token_id"));

            TensorInfo embd = f.findTensor("token_embd.weight").orElseThrow();
            assertArrayEquals(new long[] {64, 512}, embd.shape());
            assertEquals(GgmlType.F32, embd.type());
            assertEquals(64, embd.rowLength());
            assertEquals(512, embd.rows());
            for (TensorInfo t : f.tensors()) {
                assertEquals(GgmlType.F32, t.type(), t.name());
                assertEquals(0, t.offset() % f.alignment(), t.name());
            }
            // token_embd, output_norm, output + 9 per layer
            assertEquals(3 + 9 * 5, f.tensors().size());
            assertArrayEquals(new long[] {64, 512}, f.findTensor("output.weight").orElseThrow().shape());

            // The views are zero-copy slices of the mapping.
            Tensor norm = f.tensor("blk.0.attn_norm.weight");
            float[] w = norm.dequantize();
            assertEquals(64, w.length);
            assertEquals(f.segment().get(Numbers.FLOAT, f.dataOffset() + f.findTensor("blk.0.attn_norm.weight").orElseThrow().offset()), w[0]);
        }
    }

    static Stream<Arguments> peerModels() {
        return Stream.of(
                Arguments.of("public-bitnet-tq2_0.gguf", "bitnet", GgmlType.TQ2_0, 21),
                Arguments.of("public-bitnet-tq1_0.gguf", "bitnet", GgmlType.TQ1_0, 21),
                Arguments.of("public-bitnet158-f16.gguf", "bitnet-b1.58", GgmlType.F16, 22),
                Arguments.of("public-bitnet158-i2_s.gguf", "bitnet-b1.58", GgmlType.I2_S, 21),
                Arguments.of("public-qwen3-q1_0.gguf", "qwen3", GgmlType.Q1_0, 29),
                // The PrismML fork's blocks of 128 under id 42, told apart by the tensors' sizes.
                Arguments.of("public-qwen3-q2_0.gguf", "qwen3", GgmlType.Q2_0_128, 22),
                Arguments.of("public-llama-tq2_0.gguf", "llama", GgmlType.TQ2_0, 21));
    }

    @ParameterizedTest
    @MethodSource("peerModels")
    void readsEveryPeerModel(String file, String arch, GgmlType type, int tensorsOfType) throws IOException {
        try (GgufFile f = GgufFile.open(TestData.require("peer-cases/models/" + file))) {
            assertEquals(arch, f.architecture());
            assertEquals(256, f.metadata().getInt(arch + ".embedding_length"));
            long count = f.tensors().stream().filter(t -> t.type() == type).count();
            assertEquals(tensorsOfType, count, "tensors of type " + type + " in " + file + ": " + typeCounts(f));
            for (TensorInfo t : f.tensors()) {
                float[] v = f.tensor(t).dequantize();
                for (float x : v) assertTrue(Float.isFinite(x), t.name());
            }
        }
    }

    private static Map<GgmlType, Long> typeCounts(GgufFile f) {
        Map<GgmlType, Long> m = new TreeMap<>();
        for (TensorInfo t : f.tensors()) m.merge(t.type(), 1L, Long::sum);
        return m;
    }

    /** The peer-case README: every I2_S tensor decodes to exactly the F16 source it was quantized from. */
    @Test
    void i2sDecodesExactlyToItsF16Source() throws IOException {
        try (GgufFile i2s = GgufFile.open(TestData.require("peer-cases/models/public-bitnet158-i2_s.gguf"));
             GgufFile f16 = GgufFile.open(TestData.require("peer-cases/models/public-bitnet158-f16.gguf"))) {
            int compared = 0;
            for (TensorInfo t : i2s.tensors()) {
                if (t.type() != GgmlType.I2_S) continue;
                TensorInfo src = f16.findTensor(t.name()).orElseThrow();
                assertArrayEquals(src.shape(), t.shape(), t.name());
                assertArrayEquals(f16.tensor(src).dequantize(), i2s.tensor(t).dequantize(), 0f, t.name());
                compared++;
            }
            assertEquals(21, compared);
        }
    }

    /** The peer-case README: the TQ1_0 and TQ2_0 files hold the same decoded weights. */
    @Test
    void tq1AndTq2FilesDecodeToTheSameWeights() throws IOException {
        try (GgufFile tq1 = GgufFile.open(TestData.require("peer-cases/models/public-bitnet-tq1_0.gguf"));
             GgufFile tq2 = GgufFile.open(TestData.require("peer-cases/models/public-bitnet-tq2_0.gguf"))) {
            assertEquals(tq2.tensors().size(), tq1.tensors().size());
            for (TensorInfo t : tq1.tensors()) {
                TensorInfo u = tq2.findTensor(t.name()).orElseThrow();
                assertArrayEquals(tq2.tensor(u).dequantize(), tq1.tensor(t).dequantize(), 0f, t.name());
            }
        }
    }

    static Stream<String> vocabFiles() throws IOException {
        Path dir = TestData.dir().resolve("vocab");
        if (!Files.isDirectory(dir)) return Stream.of("ggml-vocab-llama-spm.gguf");
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".gguf")).sorted().toList().stream();
        }
    }

    @ParameterizedTest
    @MethodSource("vocabFiles")
    void readsVocabOnlyFiles(String name) throws IOException {
        try (GgufFile f = GgufFile.open(TestData.require("vocab/" + name))) {
            assertTrue(f.tensors().isEmpty());
            String[] tokens = f.metadata().getStringArray("tokenizer.ggml.tokens");
            assertTrue(tokens.length > 1000, name + " has " + tokens.length + " tokens");
            assertNotNull(f.metadata().getString("tokenizer.ggml.model"));
        }
    }

    /**
     * A tensor past 2 GiB: the mapping is one 64-bit segment, not an int-indexed ByteBuffer. The file
     * is sparse, so it costs no disk.
     */
    @Test
    void readsTensorsBeyondTwoGigabytes(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("big.gguf");
        long padElements = (3L << 30) / 4; // an F32 tensor of 3 GiB, never touched
        byte[] tail = new byte[256];
        for (int i = 0; i < tail.length; i++) tail[i] = (byte) i;
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(2).putLong(1);
        putString(b, "general.architecture");
        b.putInt(MetadataType.STRING.id);
        putString(b, "test");
        putString(b, "pad");
        b.putInt(1).putLong(padElements).putInt(GgmlType.F32.id).putLong(0);
        putString(b, "tail");
        b.putInt(1).putLong(tail.length).putInt(GgmlType.F32.id).putLong(padElements * 4);
        while (b.position() % 32 != 0) b.put((byte) 0);
        long dataOffset = b.position();
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.SPARSE)) {
            ch.write(b.flip());
            ByteBuffer t = ByteBuffer.allocate(tail.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (byte x : tail) t.putFloat(x);
            ch.write(t.flip(), dataOffset + padElements * 4);
        }
        try (GgufFile f = GgufFile.open(p)) {
            assertTrue(f.fileSize() > (3L << 30));
            float[] v = f.tensor("tail").dequantize();
            for (int i = 0; i < tail.length; i++) assertEquals(tail[i], v[i]);
            assertEquals(0f, f.tensor("pad").data().get(Numbers.FLOAT, 0));
        }
    }

    private static void putString(ByteBuffer b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        b.putLong(u.length).put(u);
    }

    @Test
    void i2sTensorHasOneScaleAfterItsCodes() {
        float[] w = new float[256 * 2];
        for (int i = 0; i < w.length; i++) w[i] = (i % 3 - 1) * 0.25f;
        Tensor t = Tensor.quantize("blk.0.attn_q.weight", GgmlType.I2_S, new long[] {256, 2}, w);
        assertEquals(256 * 2 / 4 + 32, t.data().byteSize());
        assertArrayEquals(w, t.dequantize(), 0f);
    }
}
