package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.TestData;
import io.ternion.graph.Backend;
import io.ternion.graph.BackendUnavailableException;
import io.ternion.graph.Batch;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Graph;
import io.ternion.graph.Log;
import io.ternion.kernels.cpu.CpuBackend;
import io.ternion.kernels.gpu.ClOps;
import io.ternion.kernels.gpu.OpenClTestDevice;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The OpenCL backend on the test device (PoCL in CI) against the CPU backend, and {@code auto}'s
 * fallback to the CPU for each way the GPU side can fail.
 */
class OpenClBackendTest {
    @TempDir
    Path dir;
    private final List<String> log = new ArrayList<>();

    @BeforeEach
    void captureLog() {
        Log.setSink(log::add);
    }

    @AfterEach
    void restore() {
        Log.setSink(null);
        for (String p : new String[] {"ternion.opencl.library", "ternion.opencl.options", "ternion.opencl.maxMemory", "ternion.opencl.config"}) System.clearProperty(p);
    }

    static Stream<Arguments> tinyModels() {
        List<Arguments> out = new ArrayList<>();
        for (String name : Preset.names()) {
            if (!name.startsWith("tiny-")) continue;
            // Types the OpenCL backend has kernels for (all of the tiny presets' types now; the filter keeps a new type's CPU-only start honest).
            for (GgmlType t : Preset.ALL.get(name).types()) if (ClOps.supports(t)) out.add(Arguments.of(name, t));
        }
        return out.stream();
    }

    /**
     * Not bit-identical: the two backends sum floats in different orders (norms, float-activation
     * matmuls, attention), and a last-bit difference can move an activation across a quantization
     * rounding boundary, which moves logits by a few thousandths. Random tiny models have flat
     * logits with many near-ties, which such a difference decides either way (we see 1-2 of 200).
     * So: top-1 agreement ≥ 99.5% over the positions whose CPU top-1 leads by at least
     * {@value #CLEAR_MARGIN}, every other disagreement a near-tie (the GPU's pick within that margin
     * of the CPU's best, on the CPU's logits), and all logits close, over 200 teacher-forced positions
     * one token at a time (the decode path); and the batched (prompt) path's logits close at the end
     * of each batch of 64.
     */
    static final double CLEAR_MARGIN = 0.01;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("tinyModels")
    void matchesTheCpuBackendTeacherForced(String preset, GgmlType type) throws IOException {
        OpenClTestDevice.require();
        Path f = dir.resolve(preset + "-" + type + ".gguf");
        Synth.write(Preset.ALL.get(preset), type, 11, null, f);
        int[] tokens = new int[200];
        for (int i = 0; i < tokens.length; i++) tokens[i] = i == 0 ? 1 : 259 + (i * 37) % 253;
        float[][] cpu, gpu;
        float[][] gpuBatches = new float[tokens.length / 64][];
        try (Model m = Model.load(f, new Model.Options("cpu", 2, 256, 64))) { cpu = TeacherForcing.logits(m, tokens, 1); }
        try (Model m = Model.load(f, new Model.Options("opencl", 2, 256, 64))) {
            assertEquals("opencl", m.backendName());
            gpu = TeacherForcing.logits(m, tokens, 1);
            // The prompt path: whole batches of 64, each giving its last position's logits.
            for (int b = 0; b < gpuBatches.length; b++) {
                gpuBatches[b] = new float[m.config().vocabSize()];
                m.compiled().forward(java.util.Arrays.copyOfRange(tokens, 64 * b, 64 * b + 64), 64 * b, gpuBatches[b]);
            }
        }
        String label = preset + " " + type;
        int clear = 0, agree = 0;
        double worst = 0;
        for (int i = 0; i < tokens.length; i++) {
            int want = argmax(cpu[i]), got = argmax(gpu[i]);
            boolean isClear = margin(cpu[i]) >= CLEAR_MARGIN;
            if (isClear) clear++;
            if (isClear && want == got) agree++;
            if (want != got) {
                assertTrue(cpu[i][want] - cpu[i][got] < CLEAR_MARGIN, label + " position " + i + ": picked " + got + " over " + want
                        + ", which leads by " + (cpu[i][want] - cpu[i][got]));
            }
            worst = Math.max(worst, maxDifference(cpu[i], gpu[i]));
        }
        assertTrue(clear >= tokens.length / 2, label + ": only " + clear + " clear positions");
        assertTrue(agree >= 0.995 * clear, label + ": top-1 agreement " + agree + "/" + clear + " clear positions");
        assertTrue(worst < 0.05, label + ": largest logit difference " + worst);
        for (int b = 0; b < gpuBatches.length; b++) {
            double d = maxDifference(cpu[64 * b + 63], gpuBatches[b]);
            assertTrue(d < 0.05, label + ": batch " + b + " logits differ by " + d);
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double worst = 0;
        for (int v = 0; v < a.length; v++) worst = Math.max(worst, Math.abs(a[v] - b[v]));
        return worst;
    }

    /** How far the top logit leads the second. */
    private static double margin(float[] x) {
        int best = argmax(x);
        float second = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < x.length; i++) if (i != best) second = Math.max(second, x[i]);
        return x[best] - second;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /** Greedy ids of 30 tokens after BOS on stories260K with these options. */
    private static int[] greedy(Model.Options o) throws IOException {
        try (Model m = Model.load(TestData.bundledModel(), o)) {
            return m.newSession().generate(new int[] {1}, 30, SamplerParams.GREEDY, (id, t) -> true).tokens();
        }
    }

    private void assertFellBack(String property, String value, String reason) throws IOException {
        int[] want = greedy(new Model.Options("cpu", 2, 64, 64));
        System.setProperty(property, value);
        // Device 0 is the test device even when it is PoCL's CPU device, which auto alone would skip.
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("auto", 2, 64, 64, 0))) {
            assertEquals("cpu", m.backendName());
            assertArrayEquals(want, m.newSession().generate(new int[] {1}, 30, SamplerParams.GREEDY, (id, t) -> true).tokens());
        }
        assertEquals(1, log.size(), "one line: " + log);
        assertTrue(log.getFirst().contains(reason) && log.getFirst().contains("running on the cpu backend"), log.getFirst());
    }

    @Test
    void autoRunsOnTheDeviceWhenItWorks() throws IOException {
        OpenClTestDevice.require();
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("auto", 2, 64, 64, 0))) {
            assertEquals("opencl", m.backendName());
            assertTrue(m.deviceBytes() > 0);
        }
        assertEquals(List.of(), log);
    }

    @Test
    void missingLibraryFallsBackToTheCpu() throws IOException {
        assertFellBack("ternion.opencl.library", dir.resolve("no-such-libOpenCL.so").toString(), "no OpenCL library");
    }

    @Test
    void programThatFailsToBuildFallsBackToTheCpu() throws IOException {
        OpenClTestDevice.require();
        // A macro that breaks the kernel source, so the device compiler itself rejects it.
        assertFellBack("ternion.opencl.options", "-Dfloat=garbage", "clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE");
    }

    @Test
    void modelLargerThanTheDeviceFallsBackToTheCpu() throws IOException {
        OpenClTestDevice.require();
        assertFellBack("ternion.opencl.maxMemory", "100000", "GiB of device memory");
    }

    @Test
    void explicitOpenClReportsTheProblemInsteadOfFallingBack() {
        System.setProperty("ternion.opencl.library", dir.resolve("no-such-libOpenCL.so").toString());
        ModelException e = assertThrows(ModelException.class, () -> Model.load(TestData.bundledModel(), new Model.Options("opencl", 2, 64, 64)));
        assertTrue(e.getMessage().startsWith("--backend opencl: no OpenCL library"), e.getMessage());
        System.clearProperty("ternion.opencl.library");
        OpenClTestDevice.require();
        e = assertThrows(ModelException.class, () -> Model.load(TestData.bundledModel(), new Model.Options("opencl", 2, 64, 64, 99)));
        assertTrue(e.getMessage().contains("there is no OpenCL device 99"), e.getMessage());
    }

    /** tornado-config's max_batch, overridden by the user's file, is the prompt batch the backend compiles for; a bad file is an OpenCL problem. */
    @Test
    void launchSettingsComeFromTheUsersConfigFile() throws IOException {
        OpenClTestDevice.require();
        Path config = dir.resolve("my-gpu.properties");
        java.nio.file.Files.writeString(config, "max_batch = 8\n");
        System.setProperty("ternion.opencl.config", config.toString());
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("opencl", 2, 64, 64))) {
            assertEquals(8, m.compiled().maxBatch());
        }
        java.nio.file.Files.writeString(config, "max_batch = lots\n");
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Model.load(TestData.bundledModel(), new Model.Options("opencl", 2, 64, 64)));
        assertTrue(e.getMessage().contains("my-gpu.properties") && e.getMessage().contains("max_batch"), e.getMessage());
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("auto", 2, 64, 64, 0))) {
            assertEquals("cpu", m.backendName());
        }
    }

    /** A kernel failing mid-generation: the positions so far are replayed on the CPU and the output goes on unchanged. */
    @Test
    void failureMidGenerationContinuesOnTheCpu() throws IOException {
        try (GgufFile file = GgufFile.open(TestData.bundledModel())) {
            ModelConfig c = ModelConfig.from(file);
            Graph g = LlamaGraph.build(file, c);
            int[] tokens = {1, 403, 407, 261, 113, 10, 263, 350, 291, 30, 40, 22};
            float[][] want = new float[tokens.length][c.vocabSize()], got = new float[tokens.length][c.vocabSize()];
            try (CpuBackend cpu = new CpuBackend(2); CompiledModel m = cpu.compile(g, 64, 8)) {
                m.forward(new int[] {tokens[0], tokens[1], tokens[2]}, 0, want[2]);
                for (int i = 3; i < tokens.length; i++) m.forward(new int[] {tokens[i]}, i, want[i]);
            }
            // It fails at its 4th call, position 5: a greedy step (forwardArgmax); odd positions are greedy steps.
            Backend failing = new FailingBackend(() -> new CpuBackend(1), 4);
            try (FallbackBackend auto = new FallbackBackend(failing, 2); CompiledModel m = auto.compile(g, 64, 8)) {
                assertEquals("failing", auto.name());
                m.forward(new int[] {tokens[0], tokens[1], tokens[2]}, 0, got[2]);
                for (int i = 3; i < tokens.length; i++) {
                    if (i % 2 == 1) assertEquals(Sampler.argmax(want[i]), m.forwardArgmax(new int[] {tokens[i]}, i, got[i]), "position " + i);
                    else m.forward(new int[] {tokens[i]}, i, got[i]);
                }
                assertEquals("cpu", auto.name());
            }
            for (int i = 2; i < tokens.length; i += 2) assertArrayEquals(want[i], got[i], 1e-5f, "position " + i);
            assertEquals(1, log.size(), "one line: " + log);
            assertTrue(log.getFirst().contains("failing backend failed: kernel died") && log.getFirst().contains("continuing on the cpu backend"),
                    log.getFirst());
        }
    }

    /**
     * A context shift, then a failure (at the shift itself, or at the step after it): the CPU
     * replays the kept tokens at their new positions, so what follows is what a fresh evaluation of
     * them gives; before the failure, the shift ran on the primary backend.
     */
    @ParameterizedTest(name = "failing at call {0}")
    @ValueSource(ints = {2, 3, 4})
    void contextShiftThenFailureReplaysTheKeptTokens(int failAt) throws IOException {
        try (GgufFile file = GgufFile.open(TestData.bundledModel())) {
            ModelConfig c = ModelConfig.from(file);
            Graph g = LlamaGraph.build(file, c);
            int[] tokens = {1, 403, 407, 261, 113, 10, 263, 350, 291, 30, 40, 22};
            // Keep BOS, drop positions 1..4 of the first 10: the kept history is BOS and tokens 5..9, at positions 0..5.
            int[] kept = {1, 10, 263, 350, 291, 30};
            float[] fresh = new float[c.vocabSize()], got = new float[c.vocabSize()], shifted = new float[c.vocabSize()];
            try (CpuBackend cpu = new CpuBackend(2); CompiledModel m = cpu.compile(g, 64, 16)) {
                m.forward(kept, 0, fresh);
                m.forward(new int[] {tokens[10]}, 6, fresh);
                m.forward(new int[] {tokens[11]}, 7, fresh);
                m.forward(Arrays.copyOf(tokens, 10), 0, shifted);
                m.shift(0, 1, 4, 10);
                m.forward(new int[] {tokens[10]}, 6, shifted);
                m.forward(new int[] {tokens[11]}, 7, shifted);
            }
            // Calls: 1 the prompt, 2 the shift, 3 and 4 the two steps after it.
            try (FallbackBackend auto = new FallbackBackend(new FailingBackend(() -> new CpuBackend(1), failAt), 2);
                 CompiledModel m = auto.compile(g, 64, 16)) {
                m.forward(Arrays.copyOf(tokens, 10), 0, got);
                m.shift(0, 1, 4, 10);
                m.forward(new int[] {tokens[10]}, 6, got);
                m.forward(new int[] {tokens[11]}, 7, got);
                assertEquals("cpu", auto.name());
            }
            // Failing at the last step, the cache the primary shifted is gone all the same: the replay is fresh.
            assertArrayEquals(fresh, got, 1e-5f);
            double apart = 0;
            for (int i = 0; i < fresh.length; i++) apart = Math.max(apart, Math.abs(fresh[i] - shifted[i]));
            assertTrue(apart > 1e-3, "a shifted cache keeps what the dropped tokens left in the kept ones, so it differs from a fresh one: " + apart);
        }
    }

    /** A backend whose compiled model stops working at its {@code failAt}-th forward call. */
    private record FailingBackend(Supplier<Backend> inner, int failAt) implements Backend {
        @Override public String name() { return "failing"; }

        @Override
        public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots) {
            CompiledModel m = inner.get().compile(graph, contextLength, maxBatch, slots);
            return new CompiledModel() {
                int calls;

                @Override
                public void forward(Batch batch, float[] logits) {
                    if (++calls == failAt) throw new BackendUnavailableException("kernel died", null);
                    m.forward(batch, logits);
                }

                @Override
                public int forwardArgmax(int[] tokens, int startPos, float[] logits) {
                    if (++calls == failAt) throw new BackendUnavailableException("kernel died", null);
                    return m.forwardArgmax(tokens, startPos, logits);
                }

                @Override
                public void shift(int slot, int keep, int drop, int length) {
                    if (++calls == failAt) throw new BackendUnavailableException("kernel died", null);
                    m.shift(slot, keep, drop, length);
                }

                @Override public int contextLength() { return m.contextLength(); }
                @Override public int maxBatch() { return m.maxBatch(); }
                @Override public int slots() { return m.slots(); }
                @Override public long residentBytes() { return m.residentBytes(); }
            };
        }
    }
}
