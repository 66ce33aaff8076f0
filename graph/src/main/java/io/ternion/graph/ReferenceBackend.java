package io.ternion.graph;

import io.ternion.gguf.Tensor;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The FP16 reference: every matrix dequantized once to FP16 with the gguf module's scalar decoder,
 * activations never quantized, plain loops. Products and sums accumulate in double so the
 * reference's own rounding stays far below the differences it is used to measure. It is what every
 * other backend is compared against, so it is written to be obviously right, not fast.
 */
public final class ReferenceBackend implements Backend {
    @Override
    public String name() { return "reference"; }

    @Override
    public String device() { return "CPU, plain Java loops over FP16 weights (one thread)"; }

    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots) {
        return compile(graph, contextLength, maxBatch, slots, KvTypes.F16);
    }

    /**
     * Keys and values of a quantized type are stored as {@link KvType#encode} then
     * {@link KvType#decode} give them back, so this is the reference for every type; an F16 cache
     * keeps the floats unrounded, as it always has, the baseline every type is measured against.
     */
    @Override
    public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots, KvTypes kv) {
        kv.checkHeadDim(graph.cache().headDim());
        return new Compiled(graph, contextLength, maxBatch, slots, kv);
    }

    /**
     * The rotary embedding of {@code r.heads()} heads at {@code off}, at {@code position}: the one
     * place this backend rotates, for the forward {@link Op.Rope} and for {@link CompiledModel#shift}'s
     * re-rotation by −drop. It must stay a pure rotation whose angle is linear in the position,
     * so that rotating by p and then by −d is rotating by p−d; a magnitude factor (YaRN's) belongs
     * to the forward case only, or a shifted key would get it twice.
     */
    static void rope(Op.Rope r, float[] x, int off, int position) {
        RopeScaling sc = r.scaling();
        rotate(r, x, off, position, sc.extFactor() != 0 ? sc.attnFactor() * (1 + 0.1 * Math.log(1.0 / sc.freqScale())) : sc.attnFactor());
    }

    /**
     * Each head's first dims values of the row at {@code off} rotated by the rope's (scaled) angles
     * at {@code position}, cos and sin times {@code magnitude}: YaRN's mscale when a row is embedded
     * ({@link #rope}), 1 when a K-shift turns keys that carry it already. The angle is linear in the
     * position, so a turn by −d after one by p is the turn by p − d.
     */
    static void rotate(Op.Rope r, float[] x, int off, int position, double magnitude) {
        RopeScaling sc = r.scaling();
        float[] corr = sc.correctionDims(r.dims(), r.theta());
        for (int h = 0; h < r.heads(); h++) {
            int base = off + h * r.headDim();
            for (int i = 0; i < r.dims() / 2; i++) {
                double extrap = position * Math.pow(r.theta(), -2.0 * i / r.dims());
                double mix = RopeScaling.ramp(corr[0], corr[1], i) * (double) sc.extFactor();
                double angle = sc.freqScale() * extrap * (1 - mix) + extrap * mix;
                int a = r.neox() ? base + i : base + 2 * i;
                int c = r.neox() ? base + i + r.dims() / 2 : base + 2 * i + 1;
                double x0 = x[a], x1 = x[c], cos = magnitude * Math.cos(angle), sin = magnitude * Math.sin(angle);
                x[a] = (float) (x0 * cos - x1 * sin);
                x[c] = (float) (x0 * sin + x1 * cos);
            }
        }
    }

    private static final class Compiled implements CompiledModel {
        private final Graph graph;
        private final int context, maxBatch, slots;
        private final Map<Buf, float[]> bufs = new HashMap<>();
        private final Map<Tensor, short[]> halves = new IdentityHashMap<>();
        private final Map<Tensor, float[]> floats = new IdentityHashMap<>();
        private final float[][] keys, values;
        /** Per layer, each slot's key μ (kvDim floats) when the key type centres keys. */
        private final float[][] keyMeans;
        private final Op.Rope[] keyRopes;
        private final KvTypes kv;
        private long resident;

        Compiled(Graph graph, int context, int maxBatch, int slots, KvTypes kv) {
            this.graph = graph;
            this.kv = kv;
            this.context = context;
            this.maxBatch = maxBatch;
            this.slots = slots;
            for (Buf b : graph.buffers()) bufs.put(b, new float[maxBatch * b.width()]);
            for (Op op : graph.ops()) {
                switch (op) {
                    case Op.Embed e -> halves.computeIfAbsent(e.table(), Compiled::toHalves);
                    case Op.MatMul m -> halves.computeIfAbsent(m.weight(), Compiled::toHalves);
                    case Op.MatMulAdd m -> halves.computeIfAbsent(m.weight(), Compiled::toHalves);
                    case Op.SharedInput s -> s.matmuls().forEach(m -> halves.computeIfAbsent(m.weight(), Compiled::toHalves));
                    case Op.RmsNormQuantize n -> floats.computeIfAbsent(n.norm().weight(), Tensor::dequantize);
                    case Op.RmsNorm n -> floats.computeIfAbsent(n.weight(), Tensor::dequantize);
                    case Op.HeadRmsNorm n -> floats.computeIfAbsent(n.weight(), Tensor::dequantize);
                    case Op.Scale sc -> floats.computeIfAbsent(sc.factor(), Tensor::dequantize);
                    default -> { }
                }
            }
            this.keyRopes = graph.keyRopes();
            int kvDim = graph.cache().kvDim(), layers = graph.cache().layers();
            keys = new float[layers][Math.multiplyExact(slots, Math.multiplyExact(context, kvDim))];
            values = new float[layers][keys[0].length];
            keyMeans = new float[layers][slots * kvDim];
            for (short[] h : halves.values()) resident += 2L * h.length;
            resident += 8L * layers * keys[0].length;
        }

        private static short[] toHalves(Tensor t) {
            float[] row = new float[(int) t.rowLength()];
            short[] out = new short[Math.toIntExact(t.elementCount())];
            for (long r = 0; r < t.rows(); r++) {
                t.dequantizeRow(r, row, 0);
                for (int k = 0; k < row.length; k++) out[(int) (r * row.length + k)] = Float.floatToFloat16(row[k]);
            }
            return out;
        }

        @Override public int contextLength() { return context; }
        @Override public int maxBatch() { return maxBatch; }
        @Override public int slots() { return slots; }
        @Override public long residentBytes() { return resident; }

        @Override
        public void forward(Batch batch, float[] logits) {
            batch.check(context, maxBatch, slots);
            int outputs = batch.outputCount();
            for (Op op : graph.ops()) if (outputs > 0 || !op.writesOutputs()) run(op, batch);
            Buf out = graph.logits();
            System.arraycopy(bufs.get(out), 0, logits, 0, out.rows(batch.size(), outputs) * out.width());
        }

        private void run(Op op, Batch batch) {
            int n = batch.size(), outputs = batch.outputCount();
            int[] tokens = batch.tokens();
            switch (op) {
                case Op.Embed e -> {
                    short[] w = halves.get(e.table());
                    float[] out = bufs.get(e.out());
                    int d = e.out().width();
                    for (int b = 0; b < n; b++) {
                        for (int i = 0; i < d; i++) out[b * d + i] = Float.float16ToFloat(w[tokens[b] * d + i]);
                    }
                }
                case Op.RmsNorm r -> {
                    float[] in = bufs.get(r.in()), out = bufs.get(r.out()), w = floats.get(r.weight());
                    int d = r.in().width();
                    for (int b = 0; b < r.in().rows(n, outputs); b++) rmsNorm(in, out, b * d, d, w, r.eps());
                }
                case Op.HeadRmsNorm r -> {
                    float[] x = bufs.get(r.x()), w = floats.get(r.weight());
                    int d = r.x().width();
                    for (int b = 0; b < n; b++) {
                        for (int h = 0; h < d / r.headDim(); h++) rmsNorm(x, x, b * d + h * r.headDim(), r.headDim(), w, r.eps());
                    }
                }
                case Op.MatMul m -> matmul(m.weight(), m.in(), m.out(), m.in().rows(n, outputs), false);
                // The fused ops as the ops they replace.
                case Op.MatMulAdd m -> matmul(m.weight(), m.in(), m.acc(), m.in().rows(n, outputs), true);
                case Op.SharedInput s -> s.matmuls().forEach(m -> run(m, batch));
                case Op.RmsNormQuantize r -> run(r.norm(), batch);
                case Op.Rope r -> {
                    float[] x = bufs.get(r.x());
                    for (int b = 0; b < n; b++) rope(r, x, b * r.x().width(), batch.positions()[b]);
                }
                case Op.StoreKv s -> {
                    int d = s.k().width();
                    float[] k = bufs.get(s.k()), v = bufs.get(s.v());
                    for (int b = 0; b < n; b++) {
                        int slot = batch.slots()[b], at = (slot * context + batch.positions()[b]) * d;
                        if (kv.key().centresKeys()) {
                            // KvType's key centring: μ is the slot's first key; the cache keeps the
                            // keys in the model's terms, so μ is added back after the codec.
                            float[] mean = keyMeans[s.layer()];
                            if (batch.positions()[b] == 0) System.arraycopy(k, b * d, mean, slot * d, d);
                            float[] centred = new float[d];
                            for (int i = 0; i < d; i++) centred[i] = k[b * d + i] - mean[slot * d + i];
                            store(kv.key(), centred, 0, keys[s.layer()], at, d);
                            for (int i = 0; i < d; i++) keys[s.layer()][at + i] += mean[slot * d + i];
                        } else {
                            store(kv.key(), k, b * d, keys[s.layer()], at, d);
                        }
                        store(kv.value(), v, b * d, values[s.layer()], at, d);
                    }
                }
                case Op.Attention a -> attention(a, batch);
                case Op.Scale sc -> {
                    float[] x = bufs.get(sc.x());
                    float f = floats.get(sc.factor())[0];
                    for (int i = 0; i < sc.x().rows(n, outputs) * sc.x().width(); i++) x[i] *= f;
                }
                case Op.Add a -> {
                    float[] acc = bufs.get(a.acc()), x = bufs.get(a.x());
                    for (int i = 0; i < a.acc().rows(n, outputs) * a.acc().width(); i++) acc[i] += x[i];
                }
                case Op.Glu g -> {
                    float[] gate = bufs.get(g.gate()), up = bufs.get(g.up()), out = bufs.get(g.out());
                    for (int i = 0; i < n * g.out().width(); i++) {
                        double x = gate[i];
                        double act = switch (g.activation()) {
                            case SILU -> x / (1 + Math.exp(-x));
                            case RELU_SQUARED -> x > 0 ? x * x : 0;
                        };
                        out[i] = (float) (act * up[i]);
                    }
                }
                case Op.SelectOutputs s -> {
                    int d = s.in().width(), j = 0;
                    for (int row : batch.outputRows()) System.arraycopy(bufs.get(s.in()), row * d, bufs.get(s.out()), j++ * d, d);
                }
            }
        }

        @Override
        public void shift(int slot, int keep, int drop, int length) {
            CompiledModel.checkShift(slot, keep, drop, length, slots, context);
            int kvDim = graph.cache().kvDim();
            for (int layer = 0; layer < keys.length; layer++) {
                float[] k = keys[layer], v = values[layer];
                int slotAt = slot * context * kvDim;
                for (int t = keep + drop; t < length; t++) {
                    int from = slotAt + t * kvDim, to = slotAt + (t - drop) * kvDim;
                    System.arraycopy(k, from, k, to, kvDim);
                    System.arraycopy(v, from, v, to, kvDim);
                    if (keyRopes[layer] != null) rotate(keyRopes[layer], k, to, -drop, 1);
                }
            }
        }

        /** The d values of one position's heads, through the type's codec unless it is F16. */
        private void store(KvType type, float[] src, int off, float[] dst, int at, int d) {
            if (type == KvType.F16) {
                System.arraycopy(src, off, dst, at, d);
                return;
            }
            int hd = graph.cache().headDim();
            byte[] code = new byte[type.bytesPerHead(hd)];
            for (int h = 0; h < d; h += hd) {
                type.encode(src, off + h, hd, code, 0);
                type.decode(code, 0, hd, dst, at + h);
            }
        }

        /** out = W·in, or with {@code add} out += W·in (the product rounded to float first, as a matmul then an add would). */
        private void matmul(Tensor weight, Buf inBuf, Buf outBuf, int rows, boolean add) {
            short[] w = halves.get(weight);
            float[] in = bufs.get(inBuf), out = bufs.get(outBuf);
            int k = inBuf.width(), rowsOut = outBuf.width();
            for (int b = 0; b < rows; b++) {
                for (int r = 0; r < rowsOut; r++) {
                    double sum = 0;
                    for (int i = 0; i < k; i++) sum += (double) Float.float16ToFloat(w[r * k + i]) * in[b * k + i];
                    out[b * rowsOut + r] = add ? out[b * rowsOut + r] + (float) sum : (float) sum;
                }
            }
        }

        private static void rmsNorm(float[] in, float[] out, int off, int d, float[] w, float eps) {
            double ss = 0;
            for (int i = 0; i < d; i++) ss += (double) in[off + i] * in[off + i];
            double scale = 1.0 / Math.sqrt(ss / d + eps);
            for (int i = 0; i < d; i++) out[off + i] = (float) (in[off + i] * scale * w[i]);
        }

        private void attention(Op.Attention a, Batch batch) {
            float[] q = bufs.get(a.q()), out = bufs.get(a.out()), k = keys[a.layer()], v = values[a.layer()];
            int hd = a.headDim(), qDim = a.heads() * hd, kvDim = a.kvHeads() * hd, group = a.heads() / a.kvHeads();
            double scale = 1.0 / Math.sqrt(hd);
            for (int b = 0; b < batch.size(); b++) {
                int positions = batch.positions()[b] + 1, slotAt = batch.slots()[b] * context * kvDim;
                double[] score = new double[positions];
                for (int h = 0; h < a.heads(); h++) {
                    int qo = b * qDim + h * hd, kvo = (h / group) * hd;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t < positions; t++) {
                        double s = 0;
                        for (int i = 0; i < hd; i++) s += (double) q[qo + i] * k[slotAt + t * kvDim + kvo + i];
                        score[t] = s * scale;
                        max = Math.max(max, score[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t < positions; t++) sum += score[t] = Math.exp(score[t] - max);
                    for (int i = 0; i < hd; i++) {
                        double acc = 0;
                        for (int t = 0; t < positions; t++) acc += score[t] * v[slotAt + t * kvDim + kvo + i];
                        out[qo + i] = (float) (acc / sum);
                    }
                }
            }
        }
    }
}
