package io.ternion.kernels.cpu;

import io.ternion.gguf.Numbers;

/**
 * llama.cpp's Q8_0 activations for Q1_0 ({@code quantize_row_q8_0_ref}, as gguf's Q8_0Codec):
 * blocks of 32, {@code d = amax/127}, {@code q = roundf(x/d)} (halves away from zero, computed as
 * x·(1/d)), and d stored as fp16: the dot product uses the fp16-rounded d, which is kept here
 * already widened back to float. Σq per block is kept for the ±1 weights: Σ(2b − 1)·q = 2·Σ_b q − Σq.
 */
final class Q8_0Activations {
    static final int QK = 32;
    final int k;
    /** batch × k values, natural order. */
    final short[] q;
    /** fp16(d) as float, per block of 32. */
    final float[] d;
    final int[] sum;

    private Q8_0Activations(int k, int batch) {
        this.k = k;
        q = new short[batch * k];
        d = new float[batch * k / QK];
        sum = new int[d.length];
    }

    static Q8_0Activations quantize(float[] x, int xOff, int k, int batch) {
        if (k % QK != 0) throw new IllegalArgumentException("Q8_0 needs rows of a multiple of 32, got " + k);
        Q8_0Activations a = new Q8_0Activations(k, batch);
        byte[] block = new byte[QK];
        for (int i = 0; i < a.d.length; i++) {
            a.d[i] = quantizeBlock(x, xOff + i * QK, block);
            int s = 0;
            for (int j = 0; j < QK; j++) {
                s += block[j];
                a.q[i * QK + j] = block[j];
            }
            a.sum[i] = s;
        }
        return a;
    }

    /** One block of 32 into {@code out}; returns fp16(d) widened to float. */
    static float quantizeBlock(float[] x, int off, byte[] out) {
        float amax = 0;
        for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        for (int j = 0; j < QK; j++) out[j] = (byte) Numbers.roundHalfAway(x[off + j] * id);
        return Float.float16ToFloat(Numbers.floatToHalf(d));
    }
}
