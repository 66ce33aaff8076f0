package io.ternion.gguf;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {

    /** Every metadata value type, nested arrays included, and a tensor of every type we write. */
    @Test
    void roundTripsEveryValueTypeAndEveryWritableTensorType(@TempDir Path dir) throws IOException {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .put("u8", new MetadataValue(MetadataType.UINT8, 250L))
                .put("i8", new MetadataValue(MetadataType.INT8, -5L))
                .put("u16", new MetadataValue(MetadataType.UINT16, 65000L))
                .put("i16", new MetadataValue(MetadataType.INT16, -300L))
                .putUInt32("u32", 4_000_000_000L)
                .putInt32("i32", -7)
                .putFloat32("f32", 1e-5f)
                .putBool("bool", true)
                .put("u64", MetadataValue.uint64(-1L))
                .put("i64", new MetadataValue(MetadataType.INT64, Long.MIN_VALUE))
                .put("f64", new MetadataValue(MetadataType.FLOAT64, Math.PI))
                .putString("utf8", "héllo ▁wörld 🙂")
                .putArray("strings", GgufArray.ofStrings("a", "", "▁b"))
                .putArray("floats", GgufArray.ofFloats(1f, -2.5f))
                .putArray("ints", GgufArray.ofInt32(1, 3, 6))
                .putArray("bytes", new GgufArray(MetadataType.UINT8, new byte[] {1, (byte) 200}))
                .putArray("shorts", new GgufArray(MetadataType.INT16, new short[] {-1, 2}))
                .putArray("longs", new GgufArray(MetadataType.UINT64, new long[] {1L << 40}))
                .putArray("doubles", new GgufArray(MetadataType.FLOAT64, new double[] {0.5}))
                .putArray("bools", new GgufArray(MetadataType.BOOL, new boolean[] {true, false}))
                .putArray("nested", new GgufArray(MetadataType.ARRAY, new GgufArray[] {
                        GgufArray.ofInt32(1, 2), GgufArray.ofStrings("x")}));
        Random rnd = new Random(42);
        int i = 0;
        for (GgmlType type : GgmlType.values()) {
            if (!type.canQuantize()) continue;
            long[] shape = {Math.max(256, type.blockSize), 3};
            float[] v = new float[(int) (shape[0] * shape[1])];
            for (int j = 0; j < v.length; j++) v[j] = type.isTernary() ? (rnd.nextInt(3) - 1) * 0.5f : (float) rnd.nextGaussian();
            w.addTensor(Tensor.quantize("t" + i++ + "." + type, type, shape, v));
        }
        Path p = dir.resolve("all.gguf");
        w.write(p);

        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(22, f.metadata().size());
            assertEquals(250, f.metadata().getInt("u8"));
            assertEquals(-5, f.metadata().getInt("i8"));
            assertEquals(65000, f.metadata().getInt("u16"));
            assertEquals(4_000_000_000L, f.metadata().getLong("u32"));
            assertEquals(-1L, f.metadata().getLong("u64"));
            assertEquals("héllo ▁wörld 🙂", f.metadata().getString("utf8"));
            assertArrayEquals(new String[] {"a", "", "▁b"}, f.metadata().getStringArray("strings"));
            assertArrayEquals(new int[] {1, 3, 6}, f.metadata().getIntArray("ints"));
            assertEquals(MetadataType.ARRAY, f.metadata().getArray("nested").elementType());
            // Read back, every value compares equal with its type.
            GgufFile again = f;
            w.asMetadataForTest().forEach((k, v) -> assertEquals(v, again.metadata().get(k), k));

            assertEquals(i, f.tensors().size());
            for (TensorInfo t : f.tensors()) {
                assertEquals(0, t.offset() % 32, t.name());
                assertEquals(0, (f.dataOffset() + t.offset()) % 32, t.name());
            }
        }
    }

    /** Tensor bytes come back identical, at the alignment the file asks for. */
    @Test
    void keepsTensorBytesAndHonoursAlignment(@TempDir Path dir) throws IOException {
        Random rnd = new Random(7);
        float[] v = new float[256 * 4];
        for (int j = 0; j < v.length; j++) v[j] = (float) rnd.nextGaussian();
        Tensor a = Tensor.quantize("a", GgmlType.Q8_0, new long[] {256, 4}, v);
        Tensor b = Tensor.quantize("b", GgmlType.F16, new long[] {256, 4}, v);
        Tensor c = Tensor.quantize("c", GgmlType.TQ1_0, new long[] {256, 4}, v);
        Path p = dir.resolve("aligned.gguf");
        new GgufWriter().putUInt32("general.alignment", 64).addTensor(a).addTensor(b).addTensor(c).write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(a, f.tensor("a"));
            assertEquals(b, f.tensor("b"));
            assertEquals(c, f.tensor("c"));
            long end = 0;
            for (TensorInfo t : f.tensors()) {
                assertEquals(GgufFile.align(end, 64), t.offset(), "tensors are back to back, padded: " + t.name());
                end = t.offset() + t.byteSize();
            }
            assertEquals(f.dataOffset() + GgufFile.align(end, 64), Files.size(p), "the last tensor is padded too");
        }
    }

    /**
     * Re-writing a file produced by ggml's own gguf-py gives the same bytes: our layout (order,
     * padding, offsets) is the spec's, not merely something our reader accepts.
     */
    @Test
    void rewritesTheStoriesModelByteForByte(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("copy.gguf");
        try (GgufFile f = GgufFile.open(TestData.bundledModel())) {
            GgufWriter w = new GgufWriter().putAll(f.metadata());
            for (TensorInfo t : f.tensors()) w.addTensor(f.tensor(t));
            w.write(out);
        }
        byte[] original = Files.readAllBytes(TestData.bundledModel());
        byte[] copy = Files.readAllBytes(out);
        assertEquals(-1, MemorySegment.ofArray(original).mismatch(MemorySegment.ofArray(copy)),
                "first differing byte");
    }

    @Test
    void rejectsWhatLlamaCppWouldRefuse() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.addTensor(Tensor.of("x".repeat(64), GgmlType.F32, new long[] {1}, new byte[4])));
        w.addTensor(Tensor.of("x", GgmlType.F32, new long[] {1}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor(Tensor.of("x", GgmlType.F32, new long[] {1}, new byte[4])));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("q", GgmlType.Q8_0, new long[] {33}, () -> MemorySegment.ofArray(new byte[34])));
    }

    @Test
    void aLazyTensorOfTheWrongSizeLeavesNoFile(@TempDir Path dir) {
        Path p = dir.resolve("bad.gguf");
        GgufWriter w = new GgufWriter().addTensor("q", GgmlType.Q8_0, new long[] {32}, () -> MemorySegment.ofArray(new byte[33]));
        assertThrows(IllegalArgumentException.class, () -> w.write(p));
        assertFalse(Files.exists(p));
        assertFalse(Files.exists(dir.resolve("bad.gguf.part")));
    }
}
