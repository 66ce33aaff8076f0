package io.ternion.graph.conformance;

import io.ternion.gguf.Tensor;

/**
 * Plain scalar references in double precision, for the conformance table. The weights are decoded
 * with the gguf module's scalar dequantize, which is the definition of each format.
 */
public final class Reference {
    private Reference() {}

    /**
     * y[b·n + r] = Σ_j W[r][j]·x[b·k + j]; for the formats that quantize the activations too, with x
     * quantized as their reference engine does ({@link QuantizedReference}).
     */
    public static double[] matmul(Tensor w, float[] x, int batch) {
        if (QuantizedReference.applies(w.type())) return QuantizedReference.matmul(w, x, batch);
        int k = (int) w.rowLength(), n = (int) w.rows();
        double[] y = new double[batch * n];
        float[] row = new float[k];
        for (int r = 0; r < n; r++) {
            w.dequantizeRow(r, row, 0);
            for (int b = 0; b < batch; b++) {
                double s = 0;
                for (int j = 0; j < k; j++) s += (double) row[j] * x[b * k + j];
                y[b * n + r] = s;
            }
        }
        return y;
    }

    public static double[] rmsNorm(float[] x, float[] weight, float eps) {
        double sum = 0;
        for (float v : x) sum += (double) v * v;
        double scale = 1 / Math.sqrt(sum / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * scale * (weight == null ? 1 : weight[i]);
        return out;
    }

    public static double[] softmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) max = Math.max(max, v);
        double sum = 0;
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) sum += out[i] = Math.exp(x[i] - max);
        for (int i = 0; i < x.length; i++) out[i] /= sum;
        return out;
    }

    public static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    public static double[] swiGlu(float[] gate, float[] up) {
        double[] out = new double[gate.length];
        for (int i = 0; i < out.length; i++) out[i] = silu(gate[i]) * up[i];
        return out;
    }

    public static double[] reluSquaredGlu(float[] gate, float[] up) {
        double[] out = new double[gate.length];
        for (int i = 0; i < out.length; i++) {
            double g = Math.max(gate[i], 0);
            out[i] = g * g * up[i];
        }
        return out;
    }

    /**
     * ggml's rope. The angles are part of its definition: theta_i = pos·theta_scale^i formed by
     * repeated multiplication in float, with theta_scale = powf(base, −2/ropeDims). At position 4095
     * that float recurrence is off the exact angle by up to ~1e-2 rad, and matching llama.cpp means
     * matching that, so the reference forms the angles the same way and rotates in double.
     */
    public static double[] rope(float[] x, int nHeads, int headDim, int ropeDims, int pos, float base, boolean neox) {
        int pairs = ropeDims / 2;
        double[] cos = new double[pairs], sin = new double[pairs];
        float thetaScale = (float) Math.pow(base, -2.0f / ropeDims);
        float theta = pos;
        for (int i = 0; i < pairs; i++) {
            cos[i] = Math.cos(theta);
            sin[i] = Math.sin(theta);
            theta *= thetaScale;
        }
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i];
        for (int h = 0; h < nHeads; h++) {
            for (int i = 0; i < pairs; i++) {
                int a = h * headDim + (neox ? i : 2 * i), b = neox ? a + pairs : a + 1;
                out[a] = x[a] * cos[i] - x[b] * sin[i];
                out[b] = x[a] * sin[i] + x[b] * cos[i];
            }
        }
        return out;
    }

    /**
     * Causal attention of one query head over positions 0..positions−1: keys and values are rows of
     * kvDim floats (as stored: the caller rounds them to half for an F16 cache), this head's slice at
     * {@code kvHead·headDim}.
     */
    public static double[] attendHead(float[] q, int qOff, float[][] keys, float[][] values, int kvHead, int headDim,
            int positions, double scale) {
        double[] s = new double[positions];
        double max = Double.NEGATIVE_INFINITY;
        for (int t = 0; t < positions; t++) {
            double d = 0;
            for (int i = 0; i < headDim; i++) d += (double) q[qOff + i] * keys[t][kvHead * headDim + i];
            s[t] = d * scale;
            max = Math.max(max, s[t]);
        }
        double sum = 0;
        for (int t = 0; t < positions; t++) sum += s[t] = Math.exp(s[t] - max);
        double[] out = new double[headDim];
        for (int t = 0; t < positions; t++) {
            for (int i = 0; i < headDim; i++) out[i] += s[t] / sum * values[t][kvHead * headDim + i];
        }
        return out;
    }
}
