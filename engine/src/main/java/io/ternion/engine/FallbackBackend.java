package io.ternion.engine;

import io.ternion.graph.Backend;
import io.ternion.graph.BackendUnavailableException;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Graph;
import io.ternion.graph.Log;
import io.ternion.kernels.cpu.CpuBackend;
import io.ternion.kernels.gpu.OpenClBackend;
import java.util.Arrays;

/**
 * {@code --backend auto}: the best OpenCL GPU when there is one and the model runs on it, else the
 * CPU backend. Whatever goes wrong on the GPU side (no library, no GPU, too little memory, a program
 * that does not build, a kernel that fails mid-generation) becomes one log line and the CPU
 * backend; after a failure mid-generation the positions so far are replayed on the CPU, so the
 * output continues unchanged.
 */
final class FallbackBackend implements Backend {
    private final CpuBackend cpu;
    private Backend gpu;
    private String active = "cpu";

    FallbackBackend(int threads, int device) {
        this.cpu = new CpuBackend(threads);
        try {
            this.gpu = OpenClBackend.open(device, device < 0);
        } catch (BackendUnavailableException e) {
            Log.info("no GPU backend: " + e.getMessage() + "; running on the cpu backend");
        }
    }

    /** For tests: a given primary backend in front of the CPU. */
    FallbackBackend(Backend primary, int threads) {
        this.cpu = new CpuBackend(threads);
        this.gpu = primary;
    }

    @Override public String name() { return active; }

    @Override
    public String device() {
        return active.equals("cpu") ? cpu.device() : gpu.device();
    }

    /** The graph as the model built it: each backend behind this one applies its own {@link Backend#fuse}. */
    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch) {
        if (gpu != null) {
            try {
                CompiledModel m = gpu.compile(gpu.fuse(graph), contextLength, maxBatch);
                active = gpu.name();
                return new Model(m, graph, contextLength);
            } catch (BackendUnavailableException | UnsupportedOperationException e) {
                Log.info(gpu.name() + " backend unusable: " + e.getMessage() + "; running on the cpu backend");
                gpu.close();
                gpu = null;
            }
        }
        active = "cpu";
        return cpu.compile(cpu.fuse(graph), contextLength, maxBatch);
    }

    @Override
    public void close() {
        if (gpu != null) gpu.close();
        cpu.close();
    }

    /** The GPU's compiled model, replaced by the CPU's on the first failure. */
    private final class Model implements CompiledModel {
        private final Graph graph;
        private final int maxBatch;
        /** The token at each position so far, to rebuild the KV cache on the CPU. */
        private final int[] history;
        private CompiledModel current;
        private boolean onGpu = true;

        Model(CompiledModel gpuModel, Graph graph, int contextLength) {
            this.current = gpuModel;
            this.graph = graph;
            this.maxBatch = gpuModel.maxBatch();
            this.history = new int[contextLength];
        }

        @Override
        public void forward(int[] tokens, int startPos, float[] logits) {
            run(tokens, startPos, logits, false);
        }

        @Override
        public int forwardArgmax(int[] tokens, int startPos, float[] logits) {
            return run(tokens, startPos, logits, true);
        }

        private int run(int[] tokens, int startPos, float[] logits, boolean argmax) {
            CompiledModel.checkForward(tokens.length, startPos, history.length, maxBatch);
            System.arraycopy(tokens, 0, history, startPos, tokens.length);
            try {
                return step(tokens, startPos, logits, argmax);
            } catch (BackendUnavailableException e) {
                if (!onGpu) throw e;
                Log.info(gpu.name() + " backend failed: " + e.getMessage() + "; continuing on the cpu backend");
                current.close();
                current = cpu.compile(cpu.fuse(graph), history.length, maxBatch);
                onGpu = false;
                active = "cpu";
                // Rebuild the KV cache on the CPU: every position before this call, then the call itself.
                for (int p = 0; p < startPos; p += maxBatch) {
                    current.forward(Arrays.copyOfRange(history, p, Math.min(startPos, p + maxBatch)), p, logits);
                }
                return step(tokens, startPos, logits, argmax);
            }
        }

        private int step(int[] tokens, int startPos, float[] logits, boolean argmax) {
            if (argmax) return current.forwardArgmax(tokens, startPos, logits);
            current.forward(tokens, startPos, logits);
            return -1;
        }

        @Override public int contextLength() { return history.length; }
        @Override public int maxBatch() { return maxBatch; }
        @Override public long residentBytes() { return current.residentBytes(); }
        @Override public long deviceBytes() { return current.deviceBytes(); }

        @Override
        public void close() {
            current.close();
        }
    }
}
