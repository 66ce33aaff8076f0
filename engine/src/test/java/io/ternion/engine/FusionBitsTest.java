package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufFile;
import io.ternion.graph.Backend;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Fusions;
import io.ternion.graph.Graph;
import io.ternion.kernels.cpu.CpuBackend;
import io.ternion.kernels.cpu.MatMul;
import io.ternion.kernels.gpu.ClOps;
import io.ternion.kernels.gpu.ClOps.Activations;
import io.ternion.kernels.gpu.OpenClBackend;
import io.ternion.kernels.gpu.OpenClTestDevice;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each fusion pass changes how a backend runs the graph, never what it computes: the same backend
 * gives the very same logits (bit for bit) with and without it, on every tiny synthetic
 * architecture × weight type, for a prompt batch and for single decode steps. (What each pass
 * rewrites, and what it must leave alone, is FusionsTest's, in the graph module.)
 */
class FusionBitsTest {
    @TempDir
    static Path dir;

    static Stream<Arguments> tinyModels() {
        return Preset.names().stream().filter(n -> n.startsWith("tiny-"))
                .flatMap(n -> Preset.ALL.get(n).types().stream().map(t -> Arguments.of(n, t)));
    }

    /** The tiny models whose weight type the OpenCL backend has kernels for (every tiny preset's type now, Q2_0 included). */
    static Stream<Arguments> tinyModelsOnOpenCl() {
        return tinyModels().filter(a -> ClOps.supports((GgmlType) a.get()[1]));
    }

    @ParameterizedTest(name = "cpu, shared inputs: {0} {1}")
    @MethodSource("tinyModels")
    void sharedInputsOnTheCpu(String preset, GgmlType type) throws IOException {
        try (CpuBackend cpu = new CpuBackend(2)) {
            sameBits(cpu, preset, type, g -> Fusions.sharedInputs(g, MatMul::sharesInput));
        }
    }

    @ParameterizedTest(name = "opencl, residual adds: {0} {1}")
    @MethodSource("tinyModelsOnOpenCl")
    void residualAddsOnOpenCl(String preset, GgmlType type) throws IOException {
        try (Backend gpu = new OpenClBackend(OpenClTestDevice.require())) {
            sameBits(gpu, preset, type, Fusions::residualAdds);
        }
    }

    @ParameterizedTest(name = "opencl, norm then quantize: {0} {1}")
    @MethodSource("tinyModelsOnOpenCl")
    void normThenQuantizeOnOpenCl(String preset, GgmlType type) throws IOException {
        try (Backend gpu = new OpenClBackend(OpenClTestDevice.require())) {
            sameBits(gpu, preset, type, g -> Fusions.normThenQuantize(g, t -> Activations.of(t) != Activations.FLOAT));
        }
    }

    /** A prompt of 9 tokens, then 5 decode steps: logits of each call with the pass and without. */
    private static void sameBits(Backend backend, String preset, GgmlType type, UnaryOperator<Graph> pass) throws IOException {
        Path f = dir.resolve(preset + "-" + type + ".gguf");
        if (!f.toFile().exists()) Synth.write(Preset.ALL.get(preset), type, 5, null, f);
        try (GgufFile file = GgufFile.open(f)) {
            ModelConfig c = ModelConfig.from(file);
            Graph plain = LlamaGraph.build(file, c), fused = pass.apply(plain);
            // tiny-bitnet's per-matrix .scale ops stand between its matmuls and its adds: nothing to group or fold there.
            assumeFalse(plain.ops().equals(fused.ops()), preset + " " + type + " has nothing for this pass to fuse");
            float[][] a = run(backend, plain, c.vocabSize()), b = run(backend, fused, c.vocabSize());
            for (int i = 0; i < a.length; i++) assertArrayEquals(a[i], b[i], preset + " " + type + ", call " + i);
        }
    }

    private static float[][] run(Backend backend, Graph g, int vocab) {
        int[] tokens = {1, 300, 301, 77, 5, 260, 261, 9, 402, 17, 33, 500, 2, 64};
        float[][] out = new float[6][vocab];
        try (CompiledModel m = backend.compile(g, 32, 16)) {
            m.forward(Arrays.copyOf(tokens, 9), 0, out[0]);
            for (int i = 9; i < tokens.length; i++) m.forward(new int[] {tokens[i]}, i, out[i - 8]);
        }
        return out;
    }
}
