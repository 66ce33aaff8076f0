package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;

import io.ternion.graph.RopeScaling;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise and per-vector operations of a transformer layer, computed the way ggml computes them
 * so that our activations track llama.cpp's. The ones run on every hidden vector (rmsNorm, add, mul,
 * the GLUs) are vectorized; rope and softmax touch few elements per token and stay scalar, which
 * keeps their ggml-exact float sequence easy to read.
 */
public final class Ops {
    private Ops() {}

    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());

    /**
     * ggml's rms_norm followed by its mul with the weight: the squares are formed in float and summed
     * in double, {@code scale = 1/sqrt(sum/n + eps)} in float, {@code out = (x·scale)·weight}. A null
     * weight means no scaling. {@code out} may be {@code x}.
     */
    public static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int wOff, int n, float eps) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = s0;
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            FloatVector sq = v.mul(v);
            // The fresh vector is the receiver, the carried sum the argument (see Vec.sumsOf32).
            s0 = ((DoubleVector) sq.convertShape(VectorOperators.F2D, D, 0)).add(s0);
            s1 = ((DoubleVector) sq.convertShape(VectorOperators.F2D, D, 1)).add(s1);
        }
        double sum = Vec.sum(s0.add(s1));
        for (; i < n; i++) sum += x[xOff + i] * x[xOff + i];
        float mean = (float) (sum / n);
        float scale = 1.0f / (float) Math.sqrt(mean + eps);
        FloatVector vs = FloatVector.broadcast(F, scale);
        i = 0;
        if (weight == null) {
            for (int end = F.loopBound(n); i < end; i += L) FloatVector.fromArray(F, x, xOff + i).mul(vs).intoArray(out, outOff + i);
            for (; i < n; i++) out[outOff + i] = x[xOff + i] * scale;
        } else {
            for (int end = F.loopBound(n); i < end; i += L) {
                FloatVector.fromArray(F, x, xOff + i).mul(vs).mul(FloatVector.fromArray(F, weight, wOff + i)).intoArray(out, outOff + i);
            }
            for (; i < n; i++) out[outOff + i] = x[xOff + i] * scale * weight[wOff + i];
        }
    }

    /** acc += x (the residual add). */
    public static void add(float[] acc, int accOff, float[] x, int xOff, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector.fromArray(F, acc, accOff + i).add(FloatVector.fromArray(F, x, xOff + i)).intoArray(acc, accOff + i);
        }
        for (; i < n; i++) acc[accOff + i] += x[xOff + i];
    }

    /** acc *= x, element-wise. */
    public static void mul(float[] acc, int accOff, float[] x, int xOff, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector.fromArray(F, acc, accOff + i).mul(FloatVector.fromArray(F, x, xOff + i)).intoArray(acc, accOff + i);
        }
        for (; i < n; i++) acc[accOff + i] *= x[xOff + i];
    }

    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** exp underflows below this (2⁻¹²⁶); 1.5·2²³ rounds a float to an integer when added. */
    private static final float EXP_MIN = -87.33654f, ROUND = 12582912f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);

    /**
     * In-place softmax over n floats: max subtracted first, the sum of exponentials in double (as
     * ggml). The exponentials are computed in vectors as Cephes' expf does (2ⁿ·p(r) with r = x − n·ln 2
     * split in two parts, a degree-6 polynomial; within about 1 ulp of {@link Math#exp}); scalar
     * Math.exp was a quarter of the attention's time. Not the Vector API's EXP: it gives other bits
     * once C2 has compiled it than before (per-lane Math.exp until then), so a prompt's logits would
     * depend on the JIT's progress; these plain multiply-adds give the same bits in every tier.
     */
    public static void softmax(float[] x, int off, int n) {
        softmax(x, off, n, null, 0);
    }

    /**
     * {@link #softmax}, also leaving its max in stats[at] and its sum of exponentials in
     * stats[at + 1], which merging softmaxes over parts of a row needs (flash-decoding).
     */
    static void softmax(float[] x, int off, int n, float[] stats, int at) {
        int body = F.loopBound(n), i = 0;
        // Four maxima, not one chain: a vector max keeps Math.max's NaN and −0 rules in several
        // dependent instructions, and one chain of them made this loop a third of the softmax
        // (0.27 ns an element at 4096). The maximum is the same in any order.
        FloatVector m0 = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (; i + 4 * L <= body; i += 4 * L) {
            m0 = FloatVector.fromArray(F, x, off + i).max(m0); // the fresh vector as receiver (Vec.sumsOf32)
            m1 = FloatVector.fromArray(F, x, off + i + L).max(m1);
            m2 = FloatVector.fromArray(F, x, off + i + 2 * L).max(m2);
            m3 = FloatVector.fromArray(F, x, off + i + 3 * L).max(m3);
        }
        for (; i < body; i += L) m0 = FloatVector.fromArray(F, x, off + i).max(m0);
        float max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY).max(m0).max(m1).max(m2).max(m3).reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) max = Math.max(max, x[off + i]);
        double sum = exponentials(x, off, body, max);
        for (i = body; i < n; i++) sum += x[off + i] = (float) Math.exp(x[off + i] - max);
        if (stats != null) {
            stats[at] = max;
            stats[at + 1] = (float) sum;
        }
        float inv = (float) (1.0 / sum);
        for (i = 0; i < body; i += L) FloatVector.fromArray(F, x, off + i).mul(inv).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= inv;
    }

    /**
     * exp(x − max) over the whole vectors of x[off, off + body), stored in place, and their sum in
     * doubles as they are stored (not read back by a scalar loop), folded as {@link Vec#sum} folds.
     */
    private static double exponentials(float[] x, int off, int body, float max) {
        DoubleVector s0 = DoubleVector.zero(D), s1 = s0;
        for (int i = 0; i < body; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, off + i).sub(max);
            FloatVector c = v.max(EXP_MIN);
            FloatVector t = c.fma(LOG2E, ROUND), k = t.sub(ROUND);
            FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_HI), c);
            r = k.fma(FloatVector.broadcast(F, -LN2_LO), r);
            FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f).fma(r, FloatVector.broadcast(F, 8.3334519073e-3f))
                    .fma(r, FloatVector.broadcast(F, 4.1665795894e-2f)).fma(r, FloatVector.broadcast(F, 1.6666665459e-1f))
                    .fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            // 2^k from k's integer bits in t (k ≥ −126 after the clamp), zero below the clamp.
            FloatVector twoK = t.reinterpretAsInts().sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = y.mul(twoK).blend(0f, v.compare(VectorOperators.LT, EXP_MIN));
            e.intoArray(x, off + i);
            s0 = ((DoubleVector) e.convertShape(VectorOperators.F2D, D, 0)).add(s0);
            s1 = ((DoubleVector) e.convertShape(VectorOperators.F2D, D, 1)).add(s1);
        }
        // Vec.sum's fixed-order fold (reduceLanes may add differently before and after C2), written
        // out: called, it came after the loop had used C2's node budget (NodeCountInliningCutoff),
        // so it ran out of line and the vector passed to it was boxed on every call. The Vector
        // API's own methods are inlined past that budget.
        DoubleVector v = s0.add(s1);
        v = v.add(v.rearrange(Vec.D_ROTATE_HALF));
        if (L >= 8) v = v.add(v.rearrange(Vec.D_ROTATE_QUARTER));
        if (L >= 16) v = v.add(v.rearrange(Vec.D_ROTATE_EIGHTH));
        return v.lane(0);
    }

    /** x·sigmoid(x), as ggml's {@code x/(1+expf(-x))}. */
    public static float silu(float x) {
        return x / (1.0f + (float) Math.exp(-x));
    }

    /** out = silu(gate)·up (LLaMA's FFN). {@code out} may be gate or up. */
    public static void swiGlu(float[] out, int outOff, float[] gate, int gOff, float[] up, int uOff, int n) {
        FloatVector one = FloatVector.broadcast(F, 1.0f);
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + i);
            FloatVector silu = g.div(one.add(g.neg().lanewise(VectorOperators.EXP)));
            silu.mul(FloatVector.fromArray(F, up, uOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = silu(gate[gOff + i]) * up[uOff + i];
    }

    /** out = max(gate, 0)²·up (BitNet's FFN). {@code out} may be gate or up. */
    public static void reluSquaredGlu(float[] out, int outOff, float[] gate, int gOff, float[] up, int uOff, int n) {
        int i = 0;
        for (int end = F.loopBound(n); i < end; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, gOff + i).max(0f);
            g.mul(g).mul(FloatVector.fromArray(F, up, uOff + i)).intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            float g = Math.max(gate[gOff + i], 0f);
            out[outOff + i] = g * g * up[uOff + i];
        }
    }

    /**
     * Rotary position embedding in place over nHeads heads of headDim floats, rotating the first
     * ropeDims of each head as ggml's rope does: {@code theta_scale = powf(freqBase, -2/ropeDims)},
     * theta starts at pos and is multiplied by theta_scale after each pair, all in float. Normal
     * mode rotates pairs (2i, 2i+1); NEOX mode pairs (i, i + ropeDims/2).
     */
    public static void rope(float[] x, int off, int nHeads, int headDim, int ropeDims, int pos, float freqBase, boolean neox) {
        rope(x, off, nHeads, headDim, ropeDims, pos, freqBase, neox, RopeScaling.NONE);
    }

    /**
     * As {@link #rope(float[], int, int, int, int, int, float, boolean)}, with each pair's angle
     * scaled ({@link RopeScaling#angle}: linear or YaRN) and cos and sin multiplied by the
     * scaling's mscale, as ggml's rope does.
     */
    public static void rope(float[] x, int off, int nHeads, int headDim, int ropeDims, int pos, float freqBase, boolean neox, RopeScaling scaling) {
        rope(x, off, nHeads, headDim, ropeDims, pos, freqBase, neox, scaling, scaling.mscale());
    }

    /**
     * As {@link #rope(float[], int, int, int, int, int, float, boolean, RopeScaling)} with cos and
     * sin times {@code magnitude} instead of the mscale: 1 for a K-shift, whose keys carry it already.
     */
    public static void rope(float[] x, int off, int nHeads, int headDim, int ropeDims, int pos, float freqBase, boolean neox, RopeScaling scaling,
            float magnitude) {
        if (ropeDims % 2 != 0 || ropeDims > headDim) {
            throw new IllegalArgumentException("ropeDims " + ropeDims + " must be even and <= headDim " + headDim);
        }
        int pairs = ropeDims / 2;
        float thetaScale = (float) Math.pow(freqBase, -2.0f / ropeDims);
        float[] cos = new float[pairs], sin = new float[pairs];
        float[] corr = scaling.correctionDims(ropeDims, freqBase);
        float theta = pos;
        for (int i = 0; i < pairs; i++) {
            float angle = scaling.angle(theta, corr, i);
            cos[i] = (float) Math.cos(angle) * magnitude;
            sin[i] = (float) Math.sin(angle) * magnitude;
            theta *= thetaScale;
        }
        for (int h = 0; h < nHeads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < pairs; i++) {
                int a = neox ? base + i : base + 2 * i;
                int b = neox ? base + i + pairs : base + 2 * i + 1;
                float x0 = x[a], x1 = x[b];
                x[a] = x0 * cos[i] - x1 * sin[i];
                x[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}
