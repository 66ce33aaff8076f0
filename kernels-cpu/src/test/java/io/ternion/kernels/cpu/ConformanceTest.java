package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.graph.Buf;
import io.ternion.graph.Op;
import io.ternion.graph.RopeScaling;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.conformance.ConformanceTable.Case;
import io.ternion.graph.conformance.ConformanceTable;
import io.ternion.graph.conformance.Inputs.Placement;
import io.ternion.graph.conformance.Inputs;
import io.ternion.graph.conformance.KernelOp;
import io.ternion.graph.conformance.Reference;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Runs every row of the conformance table on the CPU kernels, with 1 and 3 threads. */
class ConformanceTest {
    static Stream<Case> cases() {
        return ConformanceTable.CASES.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void conforms(Case c) {
        switch (c.op()) {
            case MATMUL -> matmul(c);
            case GET_ROW -> getRow(c);
            case RMS_NORM, RMS_NORM_UNWEIGHTED -> rmsNorm(c, c.op() == KernelOp.RMS_NORM);
            case SOFTMAX -> softmax(c);
            case SWIGLU, RELU2_GLU -> glu(c, c.op() == KernelOp.SWIGLU);
            case ADD, MUL -> elementwise(c, c.op() == KernelOp.ADD);
            case ROPE, ROPE_NEOX, ROPE_LINEAR, ROPE_YARN -> rope(c);
            case ATTENTION, ATTENTION_GQA4 -> attention(c, c.op() == KernelOp.ATTENTION ? 1 : 4);
            case KV_SHIFT, KV_SHIFT_NEOX -> kvShift(c, c.op() == KernelOp.KV_SHIFT_NEOX);
            case ATTENTION_KV -> attention(c, 4);
        }
    }

    private static void matmul(Case c) {
        for (Placement placement : Placement.values()) {
            SplittableRandom rnd = Inputs.random(c.toString());
            Tensor w = Inputs.weights(rnd, c.type(), c.k(), c.n(), placement);
            float[] x = Inputs.floats(rnd, c.batch() * c.k() + 3);
            double[] ref = Reference.matmul(w, Arrays.copyOfRange(x, 3, x.length), c.batch());
            // Offsets into both arrays, with sentinels around the output.
            float[] y1 = new float[ref.length + 4], y3 = new float[ref.length + 4];
            Arrays.fill(y1, 42f);
            Arrays.fill(y3, 42f);
            MatMul.matmul(w, x, 3, c.batch(), y1, 2, TestPools.ONE);
            MatMul.matmul(w, x, 3, c.batch(), y3, 2, TestPools.THREE);
            assertArrayEquals(y1, y3, "1 and 3 threads must give the same bits, " + placement);
            assertEquals(42f, y1[0]);
            assertEquals(42f, y1[1]);
            assertEquals(42f, y1[y1.length - 2]);
            assertEquals(42f, y1[y1.length - 1]);
            ConformanceTable.check(c, placement.toString(), Arrays.copyOfRange(y1, 2, 2 + ref.length), ref);
        }
    }

    private static void getRow(Case c) {
        Tensor w = Inputs.weights(Inputs.random(c.toString()), c.type(), c.k(), c.n(), Placement.NATIVE_ODD);
        float[] want = new float[c.k()], got = new float[c.k() + 1];
        for (int r = 0; r < c.n(); r++) {
            w.dequantizeRow(r, want, 0);
            MatMul.getRow(w, r, got, 1);
            assertArrayEquals(want, Arrays.copyOfRange(got, 1, got.length), c + " row " + r);
        }
    }

    private static void rmsNorm(Case c, boolean weighted) {
        SplittableRandom rnd = Inputs.random(c.toString());
        for (int b = 0; b < c.batch(); b++) {
            float[] x = Inputs.floats(rnd, c.k()), w = weighted ? Inputs.floats(rnd, c.k() + 1) : null;
            float[] out = new float[c.k()];
            Ops.rmsNorm(out, 0, x, 0, w, 1, c.k(), 1e-6f);
            double[] ref = Reference.rmsNorm(x, weighted ? Arrays.copyOfRange(w, 1, w.length) : null, 1e-6f);
            ConformanceTable.check(c, "", out, ref);
            Ops.rmsNorm(x, 0, x, 0, w, 1, c.k(), 1e-6f);
            assertArrayEquals(out, x, "in place");
        }
    }

    private static void softmax(Case c) {
        SplittableRandom rnd = Inputs.random(c.toString());
        for (int b = 0; b < c.batch(); b++) {
            float[] x = Inputs.floats(rnd, c.k() + 2);
            // Large logits: without the max subtracted, exp would overflow.
            for (int i = 0; i < x.length; i++) x[i] = x[i] * 20 + (b == 0 ? 0 : 500);
            double[] ref = Reference.softmax(Arrays.copyOfRange(x, 2, x.length));
            Ops.softmax(x, 2, c.k());
            ConformanceTable.check(c, "", Arrays.copyOfRange(x, 2, x.length), ref);
        }
    }

    private static void glu(Case c, boolean swi) {
        SplittableRandom rnd = Inputs.random(c.toString());
        float[] g = Inputs.floats(rnd, c.k()), u = Inputs.floats(rnd, c.k());
        for (int i = 0; i < g.length; i++) g[i] *= 8; // the sigmoid's tails, not only its middle
        double[] ref = swi ? Reference.swiGlu(g, u) : Reference.reluSquaredGlu(g, u);
        float[] out = new float[c.k() + 1];
        if (swi) Ops.swiGlu(out, 1, g, 0, u, 0, c.k());
        else Ops.reluSquaredGlu(out, 1, g, 0, u, 0, c.k());
        ConformanceTable.check(c, "", Arrays.copyOfRange(out, 1, out.length), ref);
        if (swi) {
            for (int i = 0; i < g.length; i++) assertEquals(Reference.silu(g[i]), Ops.silu(g[i]), 1e-6 * Math.max(1, Math.abs(g[i])));
        }
    }

    private static void elementwise(Case c, boolean add) {
        SplittableRandom rnd = Inputs.random(c.toString());
        float[] acc = Inputs.floats(rnd, c.k()), x = Inputs.floats(rnd, c.k() + 5);
        double[] ref = new double[c.k()];
        for (int i = 0; i < c.k(); i++) ref[i] = add ? (double) acc[i] + x[i + 5] : (double) acc[i] * x[i + 5];
        if (add) Ops.add(acc, 0, x, 5, c.k());
        else Ops.mul(acc, 0, x, 5, c.k());
        ConformanceTable.check(c, "", acc, ref);
    }

    private static void rope(Case c) {
        SplittableRandom rnd = Inputs.random(c.toString());
        int heads = c.batch(), headDim = c.k(), ropeDims = c.n();
        boolean neox = ConformanceTable.ropeNeox(c.op());
        RopeScaling scaling = ConformanceTable.ropeScaling(c.op());
        for (int pos : ConformanceTable.ROPE_POSITIONS) {
            float[] x = Inputs.floats(rnd, heads * headDim);
            double[] ref = Reference.rope(x, heads, headDim, ropeDims, pos, 10000f, neox, scaling);
            float[] got = new float[x.length + 1];
            System.arraycopy(x, 0, got, 1, x.length);
            Ops.rope(got, 1, heads, headDim, ropeDims, pos, 10000f, neox, scaling);
            ConformanceTable.check(c, "pos " + pos, Arrays.copyOfRange(got, 1, got.length), ref);
            for (int h = 0; h < heads; h++) {
                for (int i = ropeDims; i < headDim; i++) assertEquals(x[h * headDim + i], got[1 + h * headDim + i], "dims past ropeDims");
            }
        }
    }

    private static void attention(Case c, int ratio) {
        SplittableRandom rnd = Inputs.random(c.toString());
        int heads = ConformanceTable.ATTENTION_HEADS, kvHeads = heads / ratio, headDim = c.k();
        int positions = c.n(), batch = c.batch(), kvDim = kvHeads * headDim, qDim = heads * headDim;
        boolean f16 = c.type() == GgmlType.F16;
        KvType kv = c.op() == KernelOp.ATTENTION_KV ? c.kv() : null;
        KvCache cache = kv != null ? new KvCache(2, 1, positions + 3, kvHeads, headDim, new KvTypes(kv, kv))
                : new KvCache(2, positions + 3, kvHeads, headDim, f16);
        float[][] keys = new float[positions][], values = new float[positions][];
        float[] first = null;
        for (int t = 0; t < positions; t++) {
            float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim);
            if (kv != null) for (int i = 0; i < kvDim; i++) k[i] += ConformanceTable.keyOffset(i);
            if (t == 0) first = k;
            cache.store(1, 0, t, k, 0, v, 0);
            keys[t] = kv != null ? ConformanceTable.storedKeys(kv, k, first, headDim) : f16 ? ConformanceTable.roundToHalf(k) : k;
            values[t] = kv != null ? ConformanceTable.storedAs(kv, v, headDim) : f16 ? ConformanceTable.roundToHalf(v) : v;
        }
        float[] q = Inputs.floats(rnd, batch * qDim + 1);
        for (int i = 0; i < q.length; i++) q[i] *= 3; // sharper softmax than uniform inputs give
        float scale = (float) (1 / Math.sqrt(headDim));
        double[] ref = new double[batch * qDim];
        int start = positions - batch;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                double[] o = Reference.attendHead(q, 1 + b * qDim + h * headDim, keys, values, h / ratio, headDim, start + b + 1, scale);
                System.arraycopy(o, 0, ref, b * qDim + h * headDim, headDim);
            }
        }
        float[] out1 = new float[ref.length + 2], out3 = new float[ref.length + 2];
        for (WorkerPool pool : TestPools.BOTH) {
            float[] out = pool == TestPools.ONE ? out1 : out3;
            if (batch == 1) Attention.attend(cache, 1, q, 1, heads, kvHeads, headDim, positions, out, 2, scale, pool);
            else Attention.attendRows(cache, 1, q, 1, batch, IntStream.range(start, positions).toArray(), new int[batch],
                    heads, kvHeads, headDim, out, 2, scale, pool);
        }
        assertArrayEquals(out1, out3, "1 and 3 threads must give the same bits");
        ConformanceTable.check(c, "", Arrays.copyOfRange(out1, 2, out1.length), ref);
    }

    /**
     * A context shift as the CPU backend runs it (KvCache.moveAndRotate through CpuBackend.rope) in
     * slot 1 of layer 1 of a two-slot, two-layer cache: moved keys re-rotated by −drop, values and
     * kept positions untouched, and slot 0 too.
     */
    private static void kvShift(Case c, boolean neox) {
        SplittableRandom rnd = Inputs.random(c.toString());
        int kvHeads = c.batch(), headDim = c.k(), dims = c.n(), kvDim = kvHeads * headDim;
        Op.Rope rope = new Op.Rope(new Buf("k", kvDim, false), kvHeads, headDim, dims, 10000f, neox);
        for (int[] shift : ConformanceTable.SHIFTS) {
            int keep = shift[0], drop = shift[1], length = shift[2];
            KvCache cache = new KvCache(2, 2, length + 2, kvHeads, headDim, true);
            float[][] keys = new float[length][], values = new float[length][], other = new float[length][];
            for (int t = 0; t < length; t++) {
                float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim);
                other[t] = ConformanceTable.roundToHalf(Inputs.floats(rnd, kvDim));
                cache.store(1, 1, t, k, 0, v, 0);
                cache.store(1, 0, t, other[t], 0, other[t], 0);
                keys[t] = ConformanceTable.roundToHalf(k);
                values[t] = ConformanceTable.roundToHalf(v);
            }
            cache.moveAndRotate(1, keep + drop, keep, length - keep - drop, (layer, row, off) -> CpuBackend.rope(rope, row, off, 1, -drop, 1f));
            int moved = length - keep - drop;
            float[] got = new float[moved * kvDim];
            double[] ref = new double[moved * kvDim];
            for (int t = 0; t < length - drop; t++) {
                float[] k = halves(cache.kh[1], cache, 1, t), v = halves(cache.vh[1], cache, 1, t);
                assertArrayEquals(other[t], halves(cache.kh[1], cache, 0, t), "slot 0 keys");
                assertArrayEquals(other[t], halves(cache.vh[1], cache, 0, t), "slot 0 values");
                if (t < keep) {
                    assertArrayEquals(keys[t], k, "kept key " + t);
                    assertArrayEquals(values[t], v, "kept value " + t);
                    continue;
                }
                assertArrayEquals(values[t + drop], v, "moved value " + t);
                System.arraycopy(k, 0, got, (t - keep) * kvDim, kvDim);
                System.arraycopy(Reference.rope(keys[t + drop], kvHeads, headDim, dims, -drop, 10000f, neox), 0, ref, (t - keep) * kvDim, kvDim);
            }
            ConformanceTable.check(c, "keep " + keep + " drop " + drop + " of " + length, got, ref);
        }
    }

    /** Position t of a slot in one layer's half array of the cache, as floats in kvDim order. */
    private static float[] halves(short[] layer, KvCache cache, int slot, int t) {
        float[] row = new float[cache.kvDim()];
        for (int h = 0; h < cache.kvHeads(); h++) {
            for (int i = 0; i < cache.headDim(); i++) row[h * cache.headDim() + i] = Float.float16ToFloat(layer[cache.at(slot, h, t) + i]);
        }
        return row;
    }
}
