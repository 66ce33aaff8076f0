package io.ternion.graph.conformance;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;

/**
 * Scalar references for the formats whose reference engines quantize the activations (I2_S:
 * bitnet.cpp; TQ2_0, TQ1_0: llama.cpp with Q8_K; Q1_0, Q2_0: llama.cpp with Q8_0). Each re-implements the
 * activation quantizer from its description, independently of the kernels' quantizer classes,
 * decodes the weights with the gguf codec and sums in double. The codes times activations and the
 * block scales are then exact, so the reference differs from the engines only in the float
 * roundings of their scale and block accumulation.
 */
public final class QuantizedReference {
    private QuantizedReference() {}

    public static boolean applies(GgmlType type) {
        return type == GgmlType.I2_S || type == GgmlType.TQ2_0 || type == GgmlType.TQ1_0 || type == GgmlType.Q1_0
                || type == GgmlType.Q2_0 || type == GgmlType.Q2_0_128;
    }

    /** y[b·n + r] as the format's reference engine defines it, in double. */
    public static double[] matmul(Tensor w, float[] x, int batch) {
        int k = (int) w.rowLength(), n = (int) w.rows();
        double[] y = new double[batch * n];
        float[] row = new float[k];
        double[][] ax = new double[batch][];
        for (int b = 0; b < batch; b++) ax[b] = activations(w.type(), x, b * k, k);
        for (int r = 0; r < n; r++) {
            w.dequantizeRow(r, row, 0);
            for (int b = 0; b < batch; b++) {
                double s = 0;
                for (int j = 0; j < k; j++) s += row[j] * ax[b][j];
                y[b * n + r] = s;
            }
        }
        return y;
    }

    /** The activations as the engine sees them: q·(its scale), per element, in double. */
    static double[] activations(GgmlType type, float[] x, int off, int k) {
        double[] a = new double[k];
        switch (type) {
            case I2_S -> {
                double max = 1e-5;
                for (int j = 0; j < k; j++) max = Math.max(max, Math.abs(x[off + j]));
                float s = (float) (127 / max);
                for (int j = 0; j < k; j++) a[j] = Math.max(-128, Math.min(127, roundHalfAway(x[off + j] * s))) / (double) s;
            }
            case TQ2_0, TQ1_0 -> {
                for (int b0 = 0; b0 < k; b0 += 256) {
                    float max = 0;
                    for (int j = b0; j < b0 + 256; j++) if (Math.abs(x[off + j]) > Math.abs(max)) max = x[off + j];
                    if (max == 0) continue;
                    float iscale = -127f / max, d = 1 / iscale;
                    for (int j = b0; j < b0 + 256; j++) a[j] = Math.min(127, Math.rint(iscale * x[off + j])) * (double) d;
                }
            }
            case Q1_0, Q2_0, Q2_0_128 -> {
                for (int b0 = 0; b0 < k; b0 += 32) {
                    float amax = 0;
                    for (int j = b0; j < b0 + 32; j++) amax = Math.max(amax, Math.abs(x[off + j]));
                    float d = amax / 127, id = d != 0 ? 1 / d : 0;
                    double dh = Float.float16ToFloat(Float.floatToFloat16(d));
                    for (int j = b0; j < b0 + 32; j++) a[j] = roundHalfAway(x[off + j] * id) * dh;
                }
            }
            default -> throw new IllegalArgumentException(type + " has float activations");
        }
        return a;
    }

    /** C's roundf: halves away from zero. */
    static double roundHalfAway(float v) {
        return Math.signum(v) * Math.floor(Math.abs((double) v) + 0.5);
    }
}
