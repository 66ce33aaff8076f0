package io.ternion.graph.conformance;

import io.ternion.gguf.Tensor;
import io.ternion.graph.RopeScaling;

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
        return rope(x, nHeads, headDim, ropeDims, pos, base, neox, RopeScaling.NONE);
    }

    /**
     * ggml's rope with its scaling. The scaled angle is part of the definition too, so it is formed
     * in float as ggml forms it: θ_int = freqScale·θ_ext, and under YaRN the blend
     * θ_int·(1 − m) + θ_ext·m with m = extFactor·(1 − clamp((i − low)/max(0.001, high − low), 0, 1))
     * over the pairs i, where low = ⌊c(betaFast)⌋ and high = ⌈c(betaSlow)⌉ (within [0, ropeDims − 1]),
     * c(r) = ropeDims·ln(originalContext/(2π·r))/(2·ln base); cos and sin are then multiplied, in
     * double, by attnFactor·(1 + 0.1·ln(1/freqScale)) under YaRN and by attnFactor otherwise.
     */
    public static double[] rope(float[] x, int nHeads, int headDim, int ropeDims, int pos, float base, boolean neox, RopeScaling s) {
        int pairs = ropeDims / 2;
        double[] cos = new double[pairs], sin = new double[pairs];
        float thetaScale = (float) Math.pow(base, -2.0f / ropeDims);
        boolean yarn = s.extFactor() != 0;
        float low = 0, high = 0;
        if (yarn) {
            float twoPi = 2 * (float) Math.PI, twoLnBase = 2 * (float) Math.log(base);
            low = Math.max(0f, (float) Math.floor(ropeDims * (float) Math.log(s.originalContext() / (s.betaFast() * twoPi)) / twoLnBase));
            high = Math.min(ropeDims - 1f, (float) Math.ceil(ropeDims * (float) Math.log(s.originalContext() / (s.betaSlow() * twoPi)) / twoLnBase));
        }
        double mscale = yarn ? s.attnFactor() * (1 + 0.1 * Math.log(1.0 / s.freqScale())) : s.attnFactor();
        float theta = pos;
        for (int i = 0; i < pairs; i++) {
            float angle = s.freqScale() * theta;
            if (yarn) {
                float m = s.extFactor() * (1 - Math.min(1f, Math.max(0f, (i - low) / Math.max(0.001f, high - low))));
                angle = angle * (1 - m) + theta * m;
            }
            cos[i] = mscale * Math.cos(angle);
            sin[i] = mscale * Math.sin(angle);
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
