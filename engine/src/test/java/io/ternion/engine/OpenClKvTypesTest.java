package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.Tensor;
import io.ternion.gguf.TensorInfo;
import io.ternion.gguf.TestData;
import io.ternion.graph.Backend;
import io.ternion.graph.BackendUnavailableException;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Graph;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.Log;
import io.ternion.graph.ReferenceBackend;
import io.ternion.kernels.gpu.OpenClBackend;
import io.ternion.kernels.gpu.OpenClTestDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The OpenCL backend's compressed KV caches on the test device (PoCL in CI) in a whole model: the
 * greedy tokens and logits of stories260K with each cache type are the reference backend's with the
 * same types (which stores through {@link KvType#encode} and {@link KvType#decode}); {@code auto} keeps such a
 * cache on the device; and the device memory the backend plans and allocates is the types' bytes.
 */
class OpenClKvTypesTest {
    /** A prompt of several tokens (one batch: rows at several positions), then greedy steps. */
    static final int[] PROMPT = {1, 403, 407, 261};
    static final int GENERATED = 40, CONTEXT = 64, TEACHER_FORCED = 200;

    @AfterEach
    void restore() {
        Log.setSink(null);
        System.clearProperty("ternion.opencl.maxMemory");
    }

    /**
     * Exactly the reference's ids over a batched prompt and {@value #GENERATED} greedy steps (the
     * device's argmax), and over 200 positions teacher-forced on the reference's own greedy
     * continuation, top-1 agreement of at least 99% and logits within 0.01 (measured: 200 of 200
     * and at most 0.0054, 7e-5 for q4_0 and turbo3). On a copy of stories260K with F16 matrices
     * ({@link #halfWeights}): the reference rounds every matrix to F16, so on the bundled F32 file
     * the two backends' keys differ by F16 roundings, and a 4-bit key cache turns such differences
     * into different codes now and then, a whole quantization step each (measured there: q4_0,
     * turbo4 and turbo3 part from the reference's ids after 16 to 28 tokens, with logits up to 5
     * apart). Since q8_0/q4_0 rotate and keys are centred (smaller steps), a pair with a 3–4-bit
     * value side also parts so (q8_0/turbo3 ids at token 17, q8_0/q4_0 logits 0.22 apart) while the
     * cpu and opencl backends agree to every digit of `ternion compare`. An F16 side is left out for the same reason: the reference keeps F16 keys and values
     * as unrounded floats.
     */
    @ParameterizedTest(name = "K {0}, V {1}")
    @CsvSource({"q8_0, q8_0", "q4_0, q4_0", "turbo4, turbo4", "turbo3, turbo3", "turbo4, q8_0"})
    void greedyTokensAndLogitsAreTheReferenceBackendsWithTheSameKvTypes(String key, String value, @TempDir Path dir) throws IOException {
        OpenClTestDevice.require();
        KvTypes kv = new KvTypes(KvType.parse(key), KvType.parse(value));
        try (GgufFile file = GgufFile.open(halfWeights(dir))) {
            Graph g = LlamaGraph.build(file, ModelConfig.from(file));
            int vocab = g.logits().width();
            int[] want, got, forced = new int[TEACHER_FORCED];
            float[][] ref = new float[TEACHER_FORCED][vocab], dev = new float[TEACHER_FORCED][vocab];
            try (Backend b = new ReferenceBackend()) {
                try (CompiledModel m = b.compile(g, CONTEXT, 8, 1, kv)) { want = greedy(m, vocab, false); }
                try (CompiledModel m = b.compile(g, TEACHER_FORCED, 8, 1, kv)) {
                    forced[0] = 1;
                    for (int i = 0; i < TEACHER_FORCED; i++) {
                        m.forward(new int[] {forced[i]}, i, ref[i]);
                        if (i + 1 < TEACHER_FORCED) forced[i + 1] = CompiledModel.argmax(ref[i]);
                    }
                }
            }
            try (Backend b = new OpenClBackend(OpenClTestDevice.require())) {
                try (CompiledModel m = b.compile(b.fuse(g), CONTEXT, 8, 1, kv)) { got = greedy(m, vocab, true); }
                try (CompiledModel m = b.compile(b.fuse(g), TEACHER_FORCED, 8, 1, kv)) {
                    for (int i = 0; i < TEACHER_FORCED; i++) m.forward(new int[] {forced[i]}, i, dev[i]);
                }
            }
            assertArrayEquals(want, got, "greedy ids with a " + kv + " KV cache");
            int agree = 0;
            double worst = 0;
            for (int i = 0; i < TEACHER_FORCED; i++) {
                if (CompiledModel.argmax(ref[i]) == CompiledModel.argmax(dev[i])) agree++;
                for (int v = 0; v < vocab; v++) worst = Math.max(worst, Math.abs(ref[i][v] - dev[i][v]));
            }
            assertTrue(agree >= 0.99 * TEACHER_FORCED, kv + ": top-1 agreement " + agree + "/" + TEACHER_FORCED);
            assertTrue(worst < 0.01, kv + ": largest logit difference " + worst);
        }
    }

    /**
     * A context shift of a compressed cache on the device (kv_shift_typed) continues as the CPU
     * backend's shift of the same cache: greedy to position 40, keep BOS and drop 20, then 30 more
     * greedy steps, the same ids on both; the logits right after the shift within 0.01 of the CPU's,
     * and far from the unshifted run's (so the shift is what is compared). On stories260K with F16
     * matrices, where both backends multiply the same weights ({@link #halfWeights}).
     */
    @ParameterizedTest(name = "K {0}, V {1}")
    @CsvSource({"q8_0, q8_0", "q4_0, q4_0", "turbo4, turbo4", "turbo3, turbo3", "q8_0, turbo3", "f16, q4_0", "turbo4, f16"})
    void shiftedCompressedCacheContinuesAsTheCpus(String key, String value, @TempDir Path dir) throws IOException {
        OpenClTestDevice.require();
        KvTypes kv = new KvTypes(KvType.parse(key), KvType.parse(value));
        try (GgufFile file = GgufFile.open(halfWeights(dir))) {
            Graph g = LlamaGraph.build(file, ModelConfig.from(file));
            int vocab = g.logits().width();
            float[] cpuLogits = new float[vocab], devLogits = new float[vocab], unshifted = new float[vocab];
            int[] want, got;
            try (Backend b = new io.ternion.kernels.cpu.CpuBackend(2); CompiledModel m = b.compile(b.fuse(g), CONTEXT, 8, 1, kv)) {
                want = greedyThroughShift(m, vocab, false, cpuLogits);
            }
            try (Backend b = new OpenClBackend(OpenClTestDevice.require())) {
                try (CompiledModel m = b.compile(b.fuse(g), CONTEXT, 8, 1, kv)) { got = greedyThroughShift(m, vocab, true, devLogits); }
                try (CompiledModel m = b.compile(b.fuse(g), CONTEXT, 8, 1, kv)) {
                    float[] logits = new float[vocab];
                    m.forward(PROMPT, 0, logits);
                    for (int pos = PROMPT.length; pos <= 40; pos++) m.forward(new int[] {got[pos - PROMPT.length]}, pos, pos == 40 ? unshifted : logits);
                }
            }
            assertArrayEquals(want, got, "greedy ids through a shift of a " + kv + " KV cache");
            double worst = 0, moved = 0;
            for (int v = 0; v < vocab; v++) {
                worst = Math.max(worst, Math.abs(cpuLogits[v] - devLogits[v]));
                moved = Math.max(moved, Math.abs(devLogits[v] - unshifted[v]));
            }
            assertTrue(worst < 0.01, kv + ": logits after the shift differ from the cpu's by " + worst);
            assertTrue(moved > 20 * worst, kv + ": the shift changes the logits (by " + moved + "), far more than the backends differ (" + worst + ")");
        }
    }

    /**
     * Greedy ids from {@link #PROMPT} to position 40, the shift (keep BOS, drop 20), then 30 more;
     * {@code afterShift} gets the logits of the first step after it.
     */
    private static int[] greedyThroughShift(CompiledModel m, int vocab, boolean deviceArgmax, float[] afterShift) {
        float[] logits = new float[vocab];
        int[] out = new int[40 - PROMPT.length + 1 + 30];
        m.forward(PROMPT, 0, logits);
        int next = CompiledModel.argmax(logits), pos = PROMPT.length;
        for (int i = 0; i < out.length; i++) {
            out[i] = next;
            if (pos == 40) {
                m.shift(0, 1, 20, 40);
                pos = 20;
                m.forward(new int[] {next}, pos++, afterShift);
                next = CompiledModel.argmax(afterShift);
            } else if (deviceArgmax) {
                next = m.forwardArgmax(new int[] {next}, pos++, logits);
            } else {
                m.forward(new int[] {next}, pos++, logits);
                next = CompiledModel.argmax(logits);
            }
        }
        return out;
    }

    /** {@code auto} (FallbackBackend) runs a compressed cache on the device, with no line about falling back. */
    @Test
    void autoKeepsACompressedCacheOnTheDevice() throws IOException {
        OpenClTestDevice.require();
        List<String> log = new ArrayList<>();
        Log.setSink(log::add);
        try (GgufFile file = GgufFile.open(TestData.bundledModel());
             FallbackBackend auto = new FallbackBackend(new OpenClBackend(OpenClTestDevice.require()), 2)) {
            Graph g = LlamaGraph.build(file, ModelConfig.from(file));
            try (CompiledModel m = auto.compile(g, CONTEXT, 8, 1, new KvTypes(KvType.Q8_0, KvType.TURBO3))) {
                assertEquals("opencl", auto.name());
                assertTrue(m.deviceBytes() > 0);
            }
        }
        assertEquals(List.of(), log);
    }

    /**
     * The cache is allocated in each type's bytes: a q8_0 cache of 4 slots × 2048 positions is
     * smaller than the F16 one by exactly the KV bytes saved (less the few hundred bytes of the
     * codebook and sign tables), and a memory limit between the two refuses F16 and takes q8_0.
     */
    @Test
    void deviceMemoryIsTheTypesBytes() throws IOException {
        OpenClTestDevice.require();
        int context = 2048, slots = 4;
        try (GgufFile file = GgufFile.open(TestData.bundledModel()); Backend gpu = new OpenClBackend(OpenClTestDevice.require())) {
            ModelConfig c = ModelConfig.from(file);
            Graph g = gpu.fuse(LlamaGraph.build(file, c));
            Graph.Cache cache = g.cache();
            KvTypes q8 = new KvTypes(KvType.Q8_0, KvType.Q8_0);
            long f16Bytes, q8Bytes;
            try (CompiledModel m = gpu.compile(g, context, 8, slots)) { f16Bytes = m.deviceBytes(); }
            try (CompiledModel m = gpu.compile(g, context, 8, slots, q8)) { q8Bytes = m.deviceBytes(); }
            long saved = (long) cache.layers() * slots * context
                    * (KvTypes.F16.bytesPerPosition(cache.kvHeads(), cache.headDim()) - q8.bytesPerPosition(cache.kvHeads(), cache.headDim()));
            // q8_0 keys are centred: μ, kvDim floats per slot and layer, lives beside the cache.
            long means = 4L * cache.layers() * slots * cache.kvDim();
            long tables = saved - (f16Bytes - q8Bytes) - means;
            assertTrue(tables >= 0 && tables < 1024, "f16 " + f16Bytes + " and q8_0 " + q8Bytes + " bytes, " + saved + " saved in the cache");

            System.setProperty("ternion.opencl.maxMemory", Long.toString(q8Bytes + saved / 2));
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> gpu.compile(g, context, 8, slots));
            assertTrue(e.getMessage().contains("GiB of device memory"), e.getMessage());
            try (CompiledModel m = gpu.compile(g, context, 8, slots, q8)) { assertEquals(q8Bytes, m.deviceBytes()); }
        }
    }

    /**
     * stories260K with its matrices stored as F16: the reference backend rounds every matrix to
     * F16, so on this copy both backends multiply the very same weights.
     */
    static Path halfWeights(Path dir) throws IOException {
        Path out = dir.resolve("stories260K-f16.gguf");
        try (GgufFile f = GgufFile.open(TestData.bundledModel())) {
            GgufWriter w = new GgufWriter().putAll(f.metadata());
            for (TensorInfo info : f.tensors()) {
                Tensor t = f.tensor(info);
                w.addTensor(t.shape().length == 2 ? Tensor.quantize(t.name(), GgmlType.F16, t.shape(), t.dequantize()) : t);
            }
            w.write(out);
        }
        return out;
    }

    /** The prompt in one batch, then one token per step; on the device the greedy steps take the device argmax. */
    private static int[] greedy(CompiledModel m, int vocab, boolean deviceArgmax) {
        float[] logits = new float[vocab];
        int[] out = new int[GENERATED];
        m.forward(PROMPT, 0, logits);
        int next = CompiledModel.argmax(logits);
        for (int i = 0; i < GENERATED; i++) {
            out[i] = next;
            int[] token = {next};
            int pos = PROMPT.length + i;
            if (deviceArgmax) {
                next = m.forwardArgmax(token, pos, logits);
            } else {
                m.forward(token, pos, logits);
                next = CompiledModel.argmax(logits);
            }
        }
        return out;
    }
}
