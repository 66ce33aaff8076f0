package io.ternion.kernels.cpu;

import io.ternion.gguf.Tensor;
import io.ternion.graph.Backend;
import io.ternion.graph.Batch;
import io.ternion.graph.Buf;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Fusions;
import io.ternion.graph.Graph;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.Log;
import io.ternion.graph.Op;
import io.ternion.graph.Progress;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Vector API backend: weights stay in the mapped file and are read by the kernels-cpu kernels,
 * except the ternary and binary ones, which are repacked into memory once at compile time
 * ({@link MatMul#prepare}); multi-threaded over output rows on one persistent worker pool; the KV
 * cache holds F16 or any {@link KvType}, which attention reads as stored. Consecutive matmuls on one input run as one step ({@link Fusions#sharedInputs}):
 * the input is quantized once and all their rows go to the threads in one hand-off.
 */
public final class CpuBackend implements Backend {
    private final WorkerPool pool;

    public CpuBackend(int threads) {
        this.pool = new WorkerPool(threads);
    }

    @Override
    public String name() { return "cpu"; }

    public int threads() { return pool.threads(); }

    @Override
    public String device() {
        return "CPU, " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors, " + pool.threads() + " threads";
    }

    /** Matmuls on one input share it when their packed kernels quantize it the same way ({@link MatMul#sharesInput}). */
    @Override
    public Graph fuse(Graph graph) {
        return Fusions.sharedInputs(graph, MatMul::sharesInput);
    }

    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots) {
        return compile(graph, contextLength, maxBatch, slots, KvTypes.F16);
    }

    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots, KvTypes kv) {
        kv.checkHeadDim(graph.cache().headDim());
        for (Op op : graph.ops()) {
            for (Tensor w : op.matrices()) {
                if (!(op instanceof Op.Embed) && !MatMul.supports(w.type())) {
                    throw new UnsupportedOperationException("the cpu backend has no kernel for " + w.type() + " weights (tensor '"
                            + w.name() + "'); --backend reference runs it");
                }
            }
        }
        graph.ops().stream().flatMap(op -> op.matrices().stream()).map(Tensor::type).filter(t -> !MatMul.runsNatively(t)).findFirst()
                .ifPresent(t -> Log.info("this CPU has no 512-bit vectors, which the " + t + " kernels are written for: they run as the"
                        + " Vector API's plain Java here, hundreds of times slower (see the README's Requirements)"));
        return new Compiled(graph, contextLength, maxBatch, slots, pool, kv);
    }

    @Override
    public void close() {
        pool.close();
    }

    /**
     * The rotary embedding of {@code heads} heads at {@code off}, at {@code position}, as {@code r}
     * says: the one place this backend rotates, for the forward {@link Op.Rope} and for a context
     * shift's re-rotation of cached keys by −drop. It must stay a pure rotation with an angle linear
     * in the position (rotating by p, then by −d, is rotating by p−d); a magnitude factor such as
     * YaRN's belongs to the forward case alone, or shifted keys would get it twice.
     */
    static void rope(Op.Rope r, float[] x, int off, int heads, int position, float magnitude) {
        Ops.rope(x, off, heads, r.headDim(), r.dims(), position, r.theta(), r.neox(), r.scaling(), magnitude);
    }

    /** Set to true to log the wall time per kind of op when a compiled model closes. */
    public static final String PROFILE_PROPERTY = "ternion.cpu.profile";

    /** Models whose weights are smaller load too fast to need a progress line (tests, stories260K). */
    static final long SHOW_REPACKING_ABOVE = 64L << 20;

    /**
     * Rows from which a per-row op (norms, RoPE, the gated unit) runs on the pool's threads: a
     * prompt's batch or several sequences decoding together; below it the caller does it alone.
     */
    private static final int PARALLEL_ROWS = 4;

    private static final class Compiled implements CompiledModel {
        private final Graph graph;
        private final int context, maxBatch, slots;
        private final WorkerPool pool;
        private final Map<Buf, float[]> bufs = new HashMap<>();
        private final Map<Tensor, float[]> vectors = new IdentityHashMap<>();
        private final Map<Tensor, Weights> weights = new IdentityHashMap<>();
        /** Each shared-input step's prepared weights and outputs, in the order of its matmuls. */
        private final Map<Op.SharedInput, Group> groups = new IdentityHashMap<>();
        /** Where a {@link Op.MatMulAdd} puts its product before adding it: as wide as the widest of them. */
        private final float[] product;
        private final KvCache cache;
        /** The rotation each layer's keys were stored with, for {@link #shift}. */
        private final Op.Rope[] keyRopes;
        private final long resident;

        private record Group(Weights[] weights, float[][] outs) {}
        /** Wall time per kind of op, when {@value #PROFILE_PROPERTY} is set; logged on close. */
        private final Map<String, long[]> profile = Boolean.getBoolean(PROFILE_PROPERTY) ? new LinkedHashMap<>() : null;

        Compiled(Graph graph, int context, int maxBatch, int slots, WorkerPool pool, KvTypes kv) {
            this.graph = graph;
            this.context = context;
            this.maxBatch = maxBatch;
            this.slots = slots;
            this.pool = pool;
            long bytes = 0;
            for (Buf b : graph.buffers()) {
                float[] a = new float[maxBatch * b.width()];
                bufs.put(b, a);
                bytes += 4L * a.length;
            }
            int productLength = 0;
            Progress repacking = repackingProgress(graph);
            for (Op op : graph.ops()) {
                // Norm weights are small vectors: decode them once rather than on every token.
                switch (op) {
                    case Op.RmsNorm n -> vectors.computeIfAbsent(n.weight(), Tensor::dequantize);
                    case Op.RmsNormQuantize n -> vectors.computeIfAbsent(n.norm().weight(), Tensor::dequantize);
                    case Op.HeadRmsNorm n -> vectors.computeIfAbsent(n.weight(), Tensor::dequantize);
                    case Op.Scale sc -> vectors.computeIfAbsent(sc.factor(), Tensor::dequantize);
                    case Op.MatMulAdd m -> productLength = Math.max(productLength, maxBatch * m.acc().width());
                    default -> { }
                }
                if (op instanceof Op.Embed) continue;
                for (Tensor t : op.matrices()) {
                    if (weights.containsKey(t)) continue;
                    Weights w = MatMul.prepare(t, pool);
                    weights.put(t, w);
                    bytes += w.residentBytes();
                    if (repacking != null) repacking.advance(t.data().byteSize());
                }
            }
            if (repacking != null) repacking.done();
            for (Op op : graph.ops()) {
                if (op instanceof Op.SharedInput s) {
                    groups.put(s, new Group(s.matmuls().stream().map(m -> weights.get(m.weight())).toArray(Weights[]::new),
                            s.matmuls().stream().map(m -> bufs.get(m.out())).toArray(float[][]::new)));
                }
            }
            this.product = new float[productLength];
            Graph.Cache c = graph.cache();
            this.cache = new KvCache(c.layers(), slots, context, c.kvHeads(), c.headDim(), kv);
            this.keyRopes = graph.keyRopes();
            this.resident = bytes + 4L * product.length + cache.bytes();
        }

        /** Progress for the weights {@link MatMul#prepare} goes through, when there are enough of them to wait for; else null. */
        private static Progress repackingProgress(Graph graph) {
            long total = graph.ops().stream().filter(op -> !(op instanceof Op.Embed)).flatMap(op -> op.matrices().stream()).distinct()
                    .mapToLong(t -> t.data().byteSize()).sum();
            return total > SHOW_REPACKING_ABOVE ? Progress.start("repacking weights", "repacked weights", total, Progress.Unit.BYTES) : null;
        }

        @Override public int contextLength() { return context; }
        @Override public int maxBatch() { return maxBatch; }
        @Override public int slots() { return slots; }
        @Override public long residentBytes() { return resident; }

        @Override
        public void forward(Batch batch, float[] logits) {
            batch.check(context, maxBatch, slots);
            int outputs = batch.outputCount();
            for (Op op : graph.ops()) {
                if (outputs == 0 && op.writesOutputs()) continue;
                long t0 = profile == null ? 0 : System.nanoTime();
                run(op, batch, outputs);
                if (profile != null) {
                    long[] t = profile.computeIfAbsent(profileKey(op, batch.size()), k -> new long[2]);
                    t[0]++;
                    t[1] += System.nanoTime() - t0;
                }
            }
            System.arraycopy(bufs.get(graph.logits()), 0, logits, 0, outputs * graph.logits().width());
        }

        private void run(Op op, Batch batch, int outputs) {
            int n = batch.size();
            int[] tokens = batch.tokens();
            switch (op) {
                case Op.Embed e -> {
                    float[] out = bufs.get(e.out());
                    for (int b = 0; b < n; b++) MatMul.getRow(e.table(), tokens[b], out, b * e.out().width());
                }
                case Op.RmsNorm r -> {
                    float[] in = bufs.get(r.in()), out = bufs.get(r.out()), w = vectors.get(r.weight());
                    int d = r.in().width();
                    rows(r.in().rows(n, outputs), (from, to) -> {
                        for (int b = from; b < to; b++) Ops.rmsNorm(out, b * d, in, b * d, w, 0, d, r.eps());
                    });
                }
                case Op.HeadRmsNorm r -> {
                    float[] x = bufs.get(r.x()), w = vectors.get(r.weight());
                    int hd = r.headDim(), width = r.x().width();
                    rows(n, (from, to) -> {
                        for (int i = from * width; i < to * width; i += hd) Ops.rmsNorm(x, i, x, i, w, 0, hd, r.eps());
                    });
                }
                case Op.MatMul m -> MatMul.matmul(weights.get(m.weight()), bufs.get(m.in()), 0, m.in().rows(n, outputs), bufs.get(m.out()), 0, pool);
                case Op.SharedInput s -> {
                    Group g = groups.get(s);
                    MatMul.matmuls(g.weights(), bufs.get(s.in()), 0, s.in().rows(n, outputs), g.outs(), pool);
                }
                case Op.MatMulAdd m -> {
                    MatMul.matmul(weights.get(m.weight()), bufs.get(m.in()), 0, m.in().rows(n, outputs), product, 0, pool);
                    Ops.add(bufs.get(m.acc()), 0, product, 0, m.acc().rows(n, outputs) * m.acc().width());
                }
                case Op.RmsNormQuantize r -> run(r.norm(), batch, outputs);
                case Op.Rope r -> {
                    float[] x = bufs.get(r.x());
                    int[] positions = batch.positions();
                    rows(n, (from, to) -> {
                        for (int b = from; b < to; b++) rope(r, x, b * r.x().width(), r.heads(), positions[b], r.scaling().mscale());
                    });
                }
                case Op.StoreKv s -> {
                    float[] k = bufs.get(s.k()), v = bufs.get(s.v());
                    int d = s.k().width();
                    for (int b = 0; b < n; b++) cache.store(s.layer(), batch.slots()[b], batch.positions()[b], k, b * d, v, b * d);
                }
                case Op.Attention a -> {
                    float scale = (float) (1.0 / Math.sqrt(a.headDim()));
                    float[] q = bufs.get(a.q()), out = bufs.get(a.out());
                    Attention.attendRows(cache, a.layer(), q, 0, n, batch.positions(), batch.slots(), a.heads(), a.kvHeads(), a.headDim(),
                            out, 0, scale, pool);
                }
                case Op.Scale sc -> {
                    float[] x = bufs.get(sc.x());
                    float f = vectors.get(sc.factor())[0];
                    for (int i = 0; i < sc.x().rows(n, outputs) * sc.x().width(); i++) x[i] *= f;
                }
                case Op.Add a -> Ops.add(bufs.get(a.acc()), 0, bufs.get(a.x()), 0, a.acc().rows(n, outputs) * a.acc().width());
                case Op.Glu g -> {
                    float[] gate = bufs.get(g.gate()), up = bufs.get(g.up()), out = bufs.get(g.out());
                    int width = g.out().width(), len = n * width;
                    // Cut at whole vectors (Vec.L floats), so each element takes the vector or scalar
                    // path it takes in one call over len: the scalar silu may round otherwise.
                    rows(n, (from, to) -> {
                        int lo = from * width / Vec.L * Vec.L, hi = to == n ? len : to * width / Vec.L * Vec.L;
                        switch (g.activation()) {
                            case SILU -> Ops.swiGlu(out, lo, gate, lo, up, lo, hi - lo);
                            case RELU_SQUARED -> Ops.reluSquaredGlu(out, lo, gate, lo, up, lo, hi - lo);
                        }
                    });
                }
                case Op.SelectOutputs s -> {
                    int d = s.in().width(), j = 0;
                    for (int row : batch.outputRows()) System.arraycopy(bufs.get(s.in()), row * d, bufs.get(s.out()), j++ * d, d);
                }
            }
        }

        /**
         * A per-row op over {@code n} rows: a prompt's batch on the pool's threads, one row (a decode
         * step) on the caller, where a hand-off to the threads would cost more than the op. Each row
         * is computed as it is alone, so the bits do not depend on the cut.
         */
        private void rows(int n, WorkerPool.RangeTask task) {
            if (n >= PARALLEL_ROWS) pool.parallelFor(n, task);
            else task.run(0, n);
        }

        @Override
        public void shift(int slot, int keep, int drop, int length) {
            CompiledModel.checkShift(slot, keep, drop, length, slots, context);
            cache.moveAndRotate(slot, keep + drop, keep, length - keep - drop, (layer, row, off) -> {
                if (keyRopes[layer] != null) rope(keyRopes[layer], row, off, 1, -drop, 1f); // a pure turn: the keys carry the mscale already
            });
        }

        /**
         * Ops are grouped by kind, matmuls also by weight type and shape (K×N; a shared-input step
         * lists its shapes), and prompt batches apart from single tokens.
         */
        private static String profileKey(Op op, int n) {
            // A shared-input step is a matmul of several shapes, as the profile has always shown it.
            StringBuilder key = new StringBuilder(op instanceof Op.SharedInput ? "MatMul" : op.getClass().getSimpleName());
            List<Tensor> ws = op instanceof Op.Embed ? List.of() : op.matrices();
            if (!ws.isEmpty()) {
                key.append(' ').append(ws.getFirst().type()).append(' ');
                for (int i = 0; i < ws.size(); i++) key.append(i > 0 ? "+" : "").append(ws.get(i).rowLength()).append('x').append(ws.get(i).rows());
            }
            return key + (n > 1 ? " (prompt)" : "");
        }

        @Override
        public void close() {
            if (profile == null) return;
            long all = profile.values().stream().mapToLong(t -> t[1]).sum();
            Log.info("cpu op time (" + pool.threads() + " threads):");
            profile.entrySet().stream()
                    .sorted((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]))
                    .forEach(e -> Log.info(String.format(Locale.ROOT, "  %-26s %7d calls %10.1f ms %5.1f%%", e.getKey(), e.getValue()[0],
                            e.getValue()[1] / 1e6, 100.0 * e.getValue()[1] / Math.max(1, all))));
        }
    }
}
