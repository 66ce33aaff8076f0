package io.ternion.kernels.cpu;

import io.ternion.gguf.Numbers;

/**
 * bitnet.cpp's activations for I2_S ({@code quantize_row_i8_s}): one scale per row over the whole
 * K, no blocks. {@code s = (float) (127 / max(max|x|, 1e-5))} with the max taken in double;
 * {@code q = clamp(round(x·s), −128, 127)} where x·s is a float product and round is C's
 * {@code round} (halves away from zero); the row's Σq is kept because the I2_S dot sums codes 0..2
 * and subtracts it once: Σ(c − 1)·q = Σc·q − Σq.
 *
 * <p>The quantized values are stored as shorts in the order {@code order} gives (position p holds
 * element order[p] of the row; natural order when null), so the kernel can load them in the order
 * its weight lanes come out.
 */
final class ActivationI8 {
    final int k;
    /** batch × k values, row b from b·k, permuted by the kernel's order. */
    final short[] q;
    final float[] scale;
    final int[] sum;

    private ActivationI8(int k, int batch) {
        this.k = k;
        q = new short[batch * k];
        scale = new float[batch];
        sum = new int[batch];
    }

    static ActivationI8 quantize(float[] x, int xOff, int k, int batch, int[] order) {
        ActivationI8 a = new ActivationI8(k, batch);
        byte[] row = new byte[k];
        for (int b = 0; b < batch; b++) {
            int from = xOff + b * k;
            a.scale[b] = quantizeRow(x, from, k, row);
            int s = 0;
            for (int j = 0; j < k; j++) s += row[j];
            a.sum[b] = s;
            for (int p = 0; p < k; p++) a.q[b * k + p] = row[order == null ? p : order[p]];
        }
        return a;
    }

    /** One row into {@code out[0..k)} in natural order; returns the scale s (y = Σq·w / s). */
    static float quantizeRow(float[] x, int off, int k, byte[] out) {
        double max = 1e-5;
        for (int j = 0; j < k; j++) max = Math.max(max, Math.abs((double) x[off + j]));
        float s = (float) (127 / max);
        for (int j = 0; j < k; j++) out[j] = (byte) Math.clamp(Numbers.roundHalfAway(x[off + j] * s), -128, 127);
        return s;
    }
}
