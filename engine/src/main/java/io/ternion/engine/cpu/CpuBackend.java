package io.ternion.engine.cpu;

import io.ternion.gguf.Tensor;
import io.ternion.kernels.cpu.Attention;
import io.ternion.kernels.cpu.KvCache;
import io.ternion.kernels.cpu.MatMul;
import io.ternion.kernels.cpu.Ops;
import io.ternion.kernels.cpu.Weights;
import io.ternion.kernels.cpu.WorkerPool;
import io.ternion.engine.Log;
import io.ternion.model.Backend;
import io.ternion.model.CompiledModel;
import io.ternion.model.Graph;
import io.ternion.model.Graph.Buf;
import io.ternion.model.Graph.Op;
import io.ternion.model.ModelConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;

/**
 * The Vector API backend: weights stay in the mapped file and are read by the kernels-cpu kernels,
 * except the ternary and binary ones, which are repacked into memory once at compile time
 * ({@link MatMul#prepare}); multi-threaded over output rows on one persistent worker pool; the KV
 * cache holds F16.
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

    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch) {
        for (Op op : graph.ops()) {
            if (op instanceof Op.MatMul m && !MatMul.supports(m.weight().type())) {
                throw new UnsupportedOperationException("the cpu backend has no kernel for " + m.weight().type() + " weights (tensor '"
                        + m.weight().name() + "'); --backend reference runs it");
            }
        }
        return new Compiled(graph, contextLength, maxBatch, pool);
    }

    @Override
    public void close() {
        pool.close();
    }

    static final String PROFILE_PROPERTY = "ternion.cpu.profile";

    private static final class Compiled implements CompiledModel {
        private final Graph graph;
        private final int context, maxBatch;
        private final WorkerPool pool;
        private final Map<Buf, float[]> bufs = new HashMap<>();
        private final Map<Tensor, float[]> vectors = new IdentityHashMap<>();
        private final Map<Tensor, Weights> weights = new IdentityHashMap<>();
        private final KvCache cache;
        private final long resident;
        /** The graph's ops in order, consecutive matmuls of one input that can share it in one step. */
        private final List<Step> steps;

        /** One op (weights and outs null), or matmuls on one input with their prepared weights and outputs. */
        private record Step(Op[] ops, Weights[] weights, float[][] outs) {}
        /** Wall time per kind of op, when {@value #PROFILE_PROPERTY} is set; logged on close. */
        private final Map<String, long[]> profile = Boolean.getBoolean(PROFILE_PROPERTY) ? new LinkedHashMap<>() : null;

        Compiled(Graph graph, int context, int maxBatch, WorkerPool pool) {
            this.graph = graph;
            this.context = context;
            this.maxBatch = maxBatch;
            this.pool = pool;
            long bytes = 0;
            for (Buf b : graph.buffers()) {
                float[] a = new float[(b.lastOnly() ? 1 : maxBatch) * b.width()];
                bufs.put(b, a);
                bytes += 4L * a.length;
            }
            // Norm weights are small vectors: decode them once rather than on every token.
            for (Op op : graph.ops()) {
                if (op instanceof Op.RmsNorm n) vectors.computeIfAbsent(n.weight(), Tensor::dequantize);
                if (op instanceof Op.HeadRmsNorm n) vectors.computeIfAbsent(n.weight(), Tensor::dequantize);
                if (op instanceof Op.Scale sc) vectors.computeIfAbsent(sc.factor(), Tensor::dequantize);
                if (op instanceof Op.MatMul m && !weights.containsKey(m.weight())) {
                    Weights w = MatMul.prepare(m.weight(), pool);
                    weights.put(m.weight(), w);
                    bytes += w.residentBytes();
                }
            }
            this.steps = steps(graph.ops());
            ModelConfig c = graph.config();
            this.cache = new KvCache(c.layers(), context, c.kvHeads(), c.headDim(), true);
            this.resident = bytes + cache.bytes();
        }

        @Override public int contextLength() { return context; }
        @Override public int maxBatch() { return maxBatch; }
        @Override public long residentBytes() { return resident; }

        @Override
        public void forward(int[] tokens, int startPos, float[] logits) {
            CompiledModel.checkForward(tokens.length, startPos, context, maxBatch);
            for (Step step : steps) {
                long t0 = profile == null ? 0 : System.nanoTime();
                if (step.ops().length == 1) {
                    run(step.ops()[0], tokens, startPos);
                } else {
                    Op.MatMul first = (Op.MatMul) step.ops()[0];
                    MatMul.matmuls(step.weights(), bufs.get(first.in()), 0, rows(first.in(), tokens.length), step.outs(), pool);
                }
                if (profile != null) {
                    long[] t = profile.computeIfAbsent(profileKey(step.ops(), tokens.length), k -> new long[2]);
                    t[0]++;
                    t[1] += System.nanoTime() - t0;
                }
            }
            System.arraycopy(bufs.get(graph.logits()), 0, logits, 0, graph.logits().width());
        }

        private void run(Op op, int[] tokens, int startPos) {
            int n = tokens.length;
            switch (op) {
                case Op.Embed e -> {
                    float[] out = bufs.get(e.out());
                    for (int b = 0; b < n; b++) MatMul.getRow(e.table(), tokens[b], out, b * e.out().width());
                }
                case Op.RmsNorm r -> {
                    float[] in = bufs.get(r.in()), out = bufs.get(r.out()), w = vectors.get(r.weight());
                    int d = r.in().width();
                    for (int b = 0; b < rows(r.in(), n); b++) Ops.rmsNorm(out, b * d, in, b * d, w, 0, d, r.eps());
                }
                case Op.HeadRmsNorm r -> {
                    float[] x = bufs.get(r.x()), w = vectors.get(r.weight());
                    int hd = r.headDim();
                    for (int i = 0; i < n * r.x().width(); i += hd) Ops.rmsNorm(x, i, x, i, w, 0, hd, r.eps());
                }
                case Op.MatMul m -> MatMul.matmul(weights.get(m.weight()), bufs.get(m.in()), 0, rows(m.in(), n), bufs.get(m.out()), 0, pool);
                case Op.Rope r -> {
                    float[] x = bufs.get(r.x());
                    for (int b = 0; b < n; b++) {
                        Ops.rope(x, b * r.x().width(), r.heads(), r.headDim(), r.dims(), startPos + b, r.theta(), r.neox());
                    }
                }
                case Op.StoreKv s -> {
                    float[] k = bufs.get(s.k()), v = bufs.get(s.v());
                    int d = s.k().width();
                    for (int b = 0; b < n; b++) cache.store(s.layer(), startPos + b, k, b * d, v, b * d);
                }
                case Op.Attention a -> {
                    float scale = (float) (1.0 / Math.sqrt(a.headDim()));
                    float[] q = bufs.get(a.q()), out = bufs.get(a.out());
                    if (n == 1) {
                        Attention.attend(cache, a.layer(), q, 0, a.heads(), a.kvHeads(), a.headDim(), startPos + 1, out, 0, scale, pool);
                    } else {
                        Attention.attendBatch(cache, a.layer(), q, 0, n, startPos, a.heads(), a.kvHeads(), a.headDim(), out, 0, scale, pool);
                    }
                }
                case Op.Scale sc -> {
                    float[] x = bufs.get(sc.x());
                    float f = vectors.get(sc.factor())[0];
                    for (int i = 0; i < rows(sc.x(), n) * sc.x().width(); i++) x[i] *= f;
                }
                case Op.Add a -> Ops.add(bufs.get(a.acc()), 0, bufs.get(a.x()), 0, rows(a.acc(), n) * a.acc().width());
                case Op.Glu g -> {
                    float[] gate = bufs.get(g.gate()), up = bufs.get(g.up()), out = bufs.get(g.out());
                    int len = n * g.out().width();
                    switch (g.activation()) {
                        case SILU -> Ops.swiGlu(out, 0, gate, 0, up, 0, len);
                        case RELU_SQUARED -> Ops.reluSquaredGlu(out, 0, gate, 0, up, 0, len);
                    }
                }
                case Op.SelectLast s -> {
                    int d = s.in().width();
                    System.arraycopy(bufs.get(s.in()), (n - 1) * d, bufs.get(s.out()), 0, d);
                }
            }
        }

        /**
         * Ops are grouped by kind, matmuls also by weight type and shape (K×N; a shared-input step
         * lists its shapes), and prompt batches apart from single tokens.
         */
        private static String profileKey(Op[] step, int n) {
            StringBuilder key = new StringBuilder(step[0].getClass().getSimpleName());
            if (step[0] instanceof Op.MatMul first) {
                key.append(' ').append(first.weight().type()).append(' ');
                for (int i = 0; i < step.length; i++) {
                    Tensor w = ((Op.MatMul) step[i]).weight();
                    key.append(i > 0 ? "+" : "").append(w.rowLength()).append('x').append(w.rows());
                }
            }
            return key + (n > 1 ? " (prompt)" : "");
        }

        /** The ops as steps: a run of matmuls on one input whose weights {@link MatMul#sharesInput} is one step. */
        private List<Step> steps(List<Op> ops) {
            List<Step> out = new ArrayList<>();
            for (int i = 0; i < ops.size(); ) {
                int j = i + 1;
                if (ops.get(i) instanceof Op.MatMul first) {
                    // The input is quantized once for the whole step: no member may write it, and no two
                    // members may write the same buffer.
                    while (j < ops.size() && ops.get(j) instanceof Op.MatMul next && next.in().equals(first.in())
                            && !next.out().equals(first.in()) && !first.out().equals(first.in())
                            && ops.subList(i, j).stream().noneMatch(o -> ((Op.MatMul) o).out().equals(next.out()))
                            && MatMul.sharesInput(weights.get(first.weight()), weights.get(next.weight()))) j++;
                }
                Op[] run = ops.subList(i, j).toArray(Op[]::new);
                if (run.length == 1) {
                    out.add(new Step(run, null, null));
                } else {
                    Weights[] ws = new Weights[run.length];
                    float[][] ys = new float[run.length][];
                    for (int r = 0; r < run.length; r++) {
                        ws[r] = weights.get(((Op.MatMul) run[r]).weight());
                        ys[r] = bufs.get(((Op.MatMul) run[r]).out());
                    }
                    out.add(new Step(run, ws, ys));
                }
                i = j;
            }
            return out;
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

        private static int rows(Buf b, int n) {
            return b.lastOnly() ? 1 : n;
        }
    }
}
