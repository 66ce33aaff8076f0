package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.I;
import static io.ternion.kernels.cpu.Vec.L;

import io.ternion.gguf.Numbers;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * bitnet.cpp's activations for I2_S ({@code quantize_row_i8_s}): one scale per row over the whole
 * K, no blocks. {@code s = (float) (127 / max(max|x|, 1e-5))} with the max taken in double;
 * {@code q = clamp(round(x·s), −128, 127)} where x·s is a float product and round is C's
 * {@code round} (halves away from zero).
 *
 * <p>The quantized values are stored as shorts in the order {@code order} gives (position p holds
 * element order[p] of the row; natural order when null), so the kernel can load them in the order
 * its weight lanes come out.
 */
final class ActivationI8 {
    /**
     * The arrays of the calling thread's last quantization, reused by its next one, as in
     * {@link Q8_0Activations}: fresh, they were about 1 MB of garbage a 2B4T decode step.
     */
    private static final ThreadLocal<short[]> Q = ThreadArrays.shorts();
    private static final ThreadLocal<float[]> SCALE = ThreadArrays.floats();

    final int k;
    /** batch × k values, row b from b·k, permuted by the kernel's order (the array may be longer). */
    final short[] q;
    /** Per row (the array may be longer). */
    final float[] scale;

    private ActivationI8(int k, int batch) {
        this.k = k;
        q = ThreadArrays.atLeast(Q, batch * k);
        scale = ThreadArrays.atLeastFloats(SCALE, batch);
    }

    static ActivationI8 quantize(float[] x, int xOff, int k, int batch, int[] order) {
        ActivationI8 a = new ActivationI8(k, batch);
        short[] row = order == null ? null : new short[k];
        for (int b = 0; b < batch; b++) {
            int from = xOff + b * k;
            if (order == null) {
                a.scale[b] = quantizeRow(x, from, k, a.q, b * k);
            } else {
                a.scale[b] = quantizeRow(x, from, k, row, 0);
                for (int p = 0; p < k; p++) a.q[b * k + p] = row[order[p]];
            }
        }
        return a;
    }

    /** One row into {@code out[0..k)} in natural order; returns the scale s (y = Σq·w / s). */
    static float quantizeRow(float[] x, int off, int k, byte[] out) {
        short[] q = new short[k];
        float s = quantizeRow(x, off, k, q, 0);
        for (int j = 0; j < k; j++) out[j] = (byte) q[j];
        return s;
    }

    /**
     * One row into {@code out[outOff..outOff + k)}, vectorized: the largest |x| is exact in float, so
     * taking it lane-wise and widening it once to double gives the reference's double max; and
     * {@code round(v)} (halves away from zero) is {@code t + sign(v)} where |v − t| ≥ 0.5 for
     * t = trunc(v), and t otherwise, with every step exact (|v| ≤ 127·(1 + 2⁻²³)).
     */
    static float quantizeRow(float[] x, int off, int k, short[] out, int outOff) {
        int body = F.loopBound(k);
        // The carried maximum is the argument, not the receiver (Vec.sumsOf32): as the receiver, the
        // call ran the Vector API's Java code, and a 2B4T decode step allocated 5 MB here (JFR).
        FloatVector m = FloatVector.zero(F);
        for (int j = 0; j < body; j += L) m = FloatVector.fromArray(F, x, off + j).abs().max(m);
        float maxAbs = m.reduceLanes(VectorOperators.MAX);
        for (int j = body; j < k; j++) maxAbs = Math.max(maxAbs, Math.abs(x[off + j]));
        float s = (float) (127 / Math.max(1e-5, (double) maxAbs));
        for (int j = 0; j < body; j += L) {
            FloatVector v = FloatVector.fromArray(F, x, off + j).mul(s), a = v.abs();
            // round: on the magnitude, t + 1 where |v| − t ≥ 0.5 for t = trunc(|v|), else t; then
            // v's sign (as Q8_0Activations.quantize, where this replaced sign arithmetic through a
            // mask's vector). Written out, not a helper: C2 did not always inline one, and its
            // vector operations then ran as allocating Java code.
            IntVector t = (IntVector) a.convertShape(VectorOperators.F2I, I, 0);
            FloatVector frac = a.sub((FloatVector) t.convertShape(VectorOperators.I2F, F, 0));
            IntVector q = t.add(1, frac.compare(VectorOperators.GE, 0.5f).cast(I)).lanewise(VectorOperators.NEG, v.compare(VectorOperators.LT, 0f).cast(I))
                    .max(-128).min(127);
            ((ShortVector) q.convertShape(VectorOperators.I2S, Vec.S, 0)).intoArray(out, outOff + j);
        }
        for (int j = body; j < k; j++) out[outOff + j] = (short) Math.clamp(Numbers.roundHalfAway(x[off + j] * s), -128, 127);
        return s;
    }
}
