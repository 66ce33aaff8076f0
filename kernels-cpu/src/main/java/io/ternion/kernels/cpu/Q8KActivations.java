package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * llama.cpp's Q8_K activations for TQ1_0 and TQ2_0 ({@code quantize_row_q8_K_ref}): blocks of 256.
 * The element of largest |x| (the first one on ties) sets {@code iscale = −127/max} with its sign,
 * so that element becomes −127; {@code q = min(127, nearest_int(iscale·x))}, where ggml's
 * nearest_int rounds halves to even; {@code d = 1/iscale}. An all-zero block gets d = 0 and q = 0.
 *
 * <p>Values are stored as shorts, within each block in the order {@code order} gives (position p
 * holds element order[p] of the block; natural when null).
 */
final class Q8KActivations {
    static final int QK = 256;
    /** The arrays of the calling thread's last quantization, reused by its next one, as in {@link Q8_0Activations}. */
    private static final ThreadLocal<short[]> Q = ThreadArrays.shorts();
    private static final ThreadLocal<float[]> D = ThreadArrays.floats();

    final int k;
    /** batch × k values, block by block (the array may be longer). */
    final short[] q;
    /** Per block, batch × k/256 of them (the array may be longer). */
    final float[] d;

    private Q8KActivations(int k, int batch) {
        this.k = k;
        q = ThreadArrays.atLeast(Q, batch * k);
        d = ThreadArrays.atLeastFloats(D, batch * k / QK);
    }

    static Q8KActivations quantize(float[] x, int xOff, int k, int batch, int[] order) {
        if (k % QK != 0) throw new IllegalArgumentException("Q8_K needs rows of a multiple of 256, got " + k);
        Q8KActivations a = new Q8KActivations(k, batch);
        int blocks = batch * k / QK;
        if (order != null) {
            byte[] block = new byte[QK];
            for (int i = 0; i < blocks; i++) {
                a.d[i] = quantizeBlock(x, xOff + i * QK, block);
                for (int p = 0; p < QK; p++) a.q[i * QK + p] = block[order[p]];
            }
            return a;
        }
        // quantizeBlock's steps with vectors, natural order: the largest |x| is found lane-wise, then
        // its first occurrence (whose sign sets iscale) by a scan; Math.rint is ggml's nearest_int,
        // which adds and subtracts 1.5·2²³ (exact here, |iscale·x| ≤ 127).
        for (int i = 0; i < blocks; i++) {
            int off = xOff + i * QK;
            FloatVector m = FloatVector.zero(F);
            for (int l = 0; l < QK; l += L) m = FloatVector.fromArray(F, x, off + l).abs().max(m); // fresh receiver (Vec.sumsOf32)
            float amax = m.reduceLanes(VectorOperators.MAX);
            if (!(amax > 0)) {
                // All zero, or a NaN (which the scalar statement never picks as the largest): as it does.
                byte[] block = new byte[QK];
                a.d[i] = quantizeBlock(x, off, block);
                for (int j = 0; j < QK; j++) a.q[i * QK + j] = block[j];
                continue;
            }
            int first = 0;
            while (Math.abs(x[off + first]) != amax) first++;
            float iscale = -127f / x[off + first];
            for (int l = 0; l < QK; l += L) {
                FloatVector v = FloatVector.fromArray(F, x, off + l).mul(iscale);
                IntVector q = ((IntVector) v.add(0x1.8p23f).sub(0x1.8p23f).convert(VectorOperators.F2I, 0)).min(127);
                ((ShortVector) q.convertShape(VectorOperators.I2S, Vec.S, 0)).intoArray(a.q, i * QK + l);
            }
            a.d[i] = 1 / iscale;
        }
        return a;
    }

    /** One block of 256 into {@code out}, natural order; returns d. */
    static float quantizeBlock(float[] x, int off, byte[] out) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK; j++) {
            float ax = Math.abs(x[off + j]);
            if (ax > amax) {
                amax = ax;
                max = x[off + j];
            }
        }
        if (amax == 0) {
            java.util.Arrays.fill(out, 0, QK, (byte) 0);
            return 0;
        }
        float iscale = -127f / max;
        for (int j = 0; j < QK; j++) out[j] = (byte) Math.min(127, (int) Math.rint(iscale * x[off + j]));
        return 1 / iscale;
    }
}
