package io.ternion.engine;

import io.ternion.graph.Backend;
import io.ternion.graph.BackendUnavailableException;
import io.ternion.graph.Batch;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Graph;
import io.ternion.graph.KvTypes;
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

    /** Whether compiling goes straight to the CPU (no usable GPU was found). */
    boolean cpuOnly() { return gpu == null; }

    int cpuThreads() { return cpu.threads(); }

    @Override
    public String device() {
        return active.equals("cpu") ? cpu.device() : gpu.device();
    }

    /** The graph as the model built it: each backend behind this one applies its own {@link Backend#fuse}. */
    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots) {
        return compile(graph, contextLength, maxBatch, slots, KvTypes.F16);
    }

    /** The OpenCL backend stores every KV type; one it cannot (a head too long for its kernels) is one more reason to run on the CPU. */
    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots, KvTypes kv) {
        if (gpu != null) {
            try {
                CompiledModel m = gpu.compile(gpu.fuse(graph), contextLength, maxBatch, slots, kv);
                active = gpu.name();
                return new Model(m, graph, kv);
            } catch (BackendUnavailableException | UnsupportedOperationException e) {
                Log.info(gpu.name() + " backend unusable: " + e.getMessage() + "; running on the cpu backend");
                gpu.close();
                gpu = null;
            }
        }
        active = "cpu";
        return cpu.compile(cpu.fuse(graph), contextLength, maxBatch, slots, kv);
    }

    @Override
    public void close() {
        if (gpu != null) gpu.close();
        cpu.close();
    }

    /** The GPU's compiled model, replaced by the CPU's on the first failure. */
    private final class Model implements CompiledModel {
        private final Graph graph;
        private final KvTypes kv;
        private final int context, maxBatch, slots;
        /** The token at each position of each slot so far, to rebuild the KV cache on the CPU. */
        private final int[][] history;
        /** How many positions of each slot hold tokens the next step may attend to. */
        private final int[] lengths;
        private CompiledModel current;
        private boolean onGpu = true;

        Model(CompiledModel gpuModel, Graph graph, KvTypes kv) {
            this.current = gpuModel;
            this.graph = graph;
            this.kv = kv;
            this.context = gpuModel.contextLength();
            this.maxBatch = gpuModel.maxBatch();
            this.slots = gpuModel.slots();
            this.history = new int[slots][context];
            this.lengths = new int[slots];
        }

        @Override
        public void forward(Batch batch, float[] logits) {
            run(batch, logits, false);
        }

        @Override
        public int forwardArgmax(int[] tokens, int startPos, float[] logits) {
            return run(Batch.sequence(tokens, startPos, 0), logits, true);
        }

        private int run(Batch batch, float[] logits, boolean argmax) {
            batch.check(context, maxBatch, slots);
            // What survives of each slot before this step: up to the first position the step writes there.
            int[] kept = lengths.clone();
            for (int i = 0; i < batch.size(); i++) {
                int slot = batch.slots()[i], pos = batch.positions()[i];
                kept[slot] = Math.min(kept[slot], pos);
                history[slot][pos] = batch.tokens()[i];
                lengths[slot] = pos + 1;
            }
            try {
                return step(batch, logits, argmax);
            } catch (BackendUnavailableException e) {
                if (!onGpu) throw e;
                failOver(e, kept);
                return step(batch, logits, argmax);
            }
        }

        /** Continues on the CPU: its KV cache rebuilt from each slot's first {@code kept} positions of the history. */
        private void failOver(BackendUnavailableException e, int[] kept) {
            Log.info(gpu.name() + " backend failed: " + e.getMessage() + "; continuing on the cpu backend");
            current.close();
            current = cpu.compile(cpu.fuse(graph), context, maxBatch, slots, kv);
            onGpu = false;
            active = "cpu";
            for (int slot = 0; slot < slots; slot++) {
                for (int p = 0; p < kept[slot]; p += maxBatch) {
                    int n = Math.min(kept[slot] - p, maxBatch);
                    int[] positions = new int[n], inSlot = new int[n];
                    for (int i = 0; i < n; i++) {
                        positions[i] = p + i;
                        inSlot[i] = slot;
                    }
                    current.forward(new Batch(Arrays.copyOfRange(history[slot], p, p + n), positions, inSlot, new boolean[n]), new float[0]);
                }
            }
        }

        /**
         * Shifts the current backend's cache, and the history to match: a later replay on the CPU
         * evaluates the kept tokens afresh at their new positions (the dropped ones' influence on
         * them, which a shift keeps, is then lost, as it would be for a new prompt).
         */
        @Override
        public void shift(int slot, int keep, int drop, int length) {
            CompiledModel.checkShift(slot, keep, drop, length, slots, context);
            int[] h = history[slot];
            System.arraycopy(h, keep + drop, h, keep, length - keep - drop);
            lengths[slot] = length - drop;
            try {
                current.shift(slot, keep, drop, length);
            } catch (BackendUnavailableException e) {
                if (!onGpu) throw e;
                failOver(e, lengths.clone());
            }
        }

        private int step(Batch batch, float[] logits, boolean argmax) {
            if (argmax) return current.forwardArgmax(batch.tokens(), batch.positions()[0], logits);
            current.forward(batch, logits);
            return -1;
        }

        @Override public int contextLength() { return context; }
        @Override public int maxBatch() { return maxBatch; }
        @Override public int slots() { return slots; }
        @Override public long residentBytes() { return current.residentBytes(); }
        @Override public long deviceBytes() { return current.deviceBytes(); }

        @Override
        public void close() {
            current.close();
        }
    }
}
