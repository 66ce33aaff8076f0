package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.Tensor;
import io.ternion.gguf.TestData;
import io.ternion.graph.Graph;
import io.ternion.graph.Op;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelWarmUpTest {
    @TempDir
    Path dir;

    private GgufFile synth(String preset, GgmlType type) throws IOException {
        Path f = dir.resolve(preset + ".gguf");
        Synth.write(Preset.ALL.get(preset), type, 1, null, f);
        return GgufFile.open(f);
    }

    private static List<String> kinds(Graph g) {
        return g.ops().stream().map(op -> op.getClass().getSimpleName() + op.matrices().stream().map(t -> " " + t.type()).reduce("", String::concat)).toList();
    }

    @Test
    void theSmallModelHasTheRealOnesOpsAndWeightTypesWithOneLayerOfMadeUpWeights() throws IOException {
        for (var c : List.of(new Object[] {"tiny-bitnet-b1.58", GgmlType.I2_S}, new Object[] {"tiny-qwen3", GgmlType.Q1_0},
                new Object[] {"tiny-bitnet", GgmlType.TQ1_0})) {
            try (GgufFile file = synth((String) c[0], (GgmlType) c[1]); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                ModelConfig config = ModelConfig.from(file);
                assertEquals(2, config.layers());
                Graph real = LlamaGraph.build(file, config);
                Graph small = LlamaGraph.buildLike(file, config.small(256), LlamaGraph.mappedScratch(arena, 16 << 20));
                // The real graph is the embedding, the small one's layer twice, and the same three ops for the output.
                List<String> s = kinds(small);
                List<String> layer = s.subList(1, s.size() - 3);
                List<String> expected = new ArrayList<>(s.subList(0, 1));
                expected.addAll(layer);
                expected.addAll(layer);
                expected.addAll(s.subList(s.size() - 3, s.size()));
                assertEquals(expected, kinds(real), c[0] + ": the same ops on the same types");
                assertEquals(1, small.cache().layers());
                for (Op op : small.ops()) {
                    for (Tensor t : op.matrices()) {
                        long at = t.data().address(), file0 = file.segment().address(), file1 = file0 + file.segment().byteSize();
                        assertTrue(at + t.data().byteSize() <= file0 || at >= file1, t.name() + " is made up, not read from the file");
                        // The segment class of the file's tensors: kernels compiled on another class were compiled again, slower.
                        assertEquals(file.tensor(file.tensors().get(0)).data().getClass(), t.data().getClass(),
                                t.name() + " is in the same kind of segment as the model's tensors");
                    }
                }
            }
        }
    }

    @Test
    void theSmallConfigKeepsTheHeadsShapeAndGrouping() {
        ModelConfig bonsai = new ModelConfig("qwen3", 2048, 28, 16, 8, 128, 6144, 151936, 32768, 128, 1e6f, true, 1e-6f,
                io.ternion.graph.Activation.SILU, false, true, RopeScalingConfig.unscaled(32768));
        ModelConfig small = bonsai.small(256);
        assertEquals(List.of(256, 1, 2, 1, 128, 512, 256), List.of(small.dim(), small.layers(), small.heads(), small.kvHeads(), small.headDim(),
                small.ffnDim(), small.vocabSize()));
        assertEquals(List.of("qwen3", 128, true, true), List.of(small.architecture(), small.ropeDims(), small.ropeNeox(), small.qkNorm()));
        // Heads of 64 in groups of two: two KV heads, so that the attention output's rows are 256 long.
        ModelConfig narrow = new ModelConfig("bitnet", 256, 2, 4, 2, 64, 512, 512, 256, 64, 5e5f, false, 1e-5f,
                io.ternion.graph.Activation.SILU, false, false, RopeScalingConfig.unscaled(256)).small(256);
        assertEquals(List.of(4, 2, 256), List.of(narrow.heads(), narrow.kvHeads(), narrow.qDim()));
    }

    @Test
    void itRunsUntilStoppedOrDone() throws Exception {
        try (GgufFile file = synth("tiny-qwen3", GgmlType.Q1_0)) {
            KernelWarmUp w = KernelWarmUp.begin(file, ModelConfig.from(file), 1, io.ternion.graph.KvTypes.F16);
            while (w.passes() == 0 && w.isRunning()) Thread.sleep(10);
            assertTrue(w.passes() > 0, "a pass of the small model ran");
            w.close();
            w.awaitStopped();
            int passes = w.passes();
            Thread.sleep(50);
            assertEquals(passes, w.passes(), "no pass after stopping");
        }
    }

    @Test
    void smallFilesAreNotWarmedUp() throws IOException {
        try (GgufFile file = synth("tiny-qwen3", GgmlType.Q1_0)) {
            assertTrue(file.fileSize() < KernelWarmUp.WORTH_IT_BYTES);
            assertNull(KernelWarmUp.start(file, ModelConfig.from(file), 1, io.ternion.graph.KvTypes.F16), "a model this small is through its first forward at once");
        }
    }

    /**
     * The small model's warm-up ends with the load, where the real model's warm-up steps run in slot
     * 0 from position 0: what a session then generates is what it generates without either.
     */
    @Test
    void itEndsWithTheLoadAndTheRealWarmUpStepsChangeNothingGenerated() throws Exception {
        String before = System.getProperty(KernelWarmUp.PROPERTY);
        try {
            System.setProperty(KernelWarmUp.PROPERTY, "false");
            String cold = greedy(40);
            System.setProperty(KernelWarmUp.PROPERTY, "always");
            String warm = greedy(40);
            assertEquals(cold, warm);
            assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("ternion-warmup") && t.isAlive()),
                    "no warm-up thread outlives the load");
        } finally {
            if (before == null) System.clearProperty(KernelWarmUp.PROPERTY);
            else System.setProperty(KernelWarmUp.PROPERTY, before);
        }
    }

    private static String greedy(int tokens) throws IOException {
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 2, 64, 8))) {
            StringBuilder out = new StringBuilder();
            m.newSession().generate(m.tokenizer().encode("Once upon a time"), tokens, SamplerParams.GREEDY, (id, text) -> {
                out.append(text);
                return true;
            });
            return out.toString();
        }
    }
}
