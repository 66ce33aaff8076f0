package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q1_0 weights (PrismML Bonsai, group 128): blocks as {@code fp16 d, uint8 qs[16]}, bit j % 8 of
 * qs[j / 8] set for +d and clear for −d. Each block meets four Q8_0 activation blocks. As
 * {@code ggml_vec_dot_q1_0_q8_0_generic}: per Q8_0 block the exact integer Σ±q, then in float
 * {@code sumi += d_y·Σ±q} over the four, and {@code sumf += d_x·sumi} per weight block.
 *
 * <p>Σ±q = 2·Σ_{bit set} q − Σq: the 32 bits of a Q8_0 block are a lane mask over its 32
 * activations, and Σq is kept from quantization.
 */
final class Q1_0MatMul extends ActivationKernel<Q8_0Activations> {
    private static final int QK = 128, BYTES = 18;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED;
    private static final int W = S.length();

    @Override public GgmlType type() { return GgmlType.Q1_0; }

    @Override
    Q8_0Activations quantize(float[] x, int xOff, int k, int batch) {
        return Q8_0Activations.quantize(x, xOff, k, batch);
    }

    @Override
    void dot(MemorySegment w, int k, int from, int to, Q8_0Activations act, int b, float[] y, int yOff) {
        int blocks = k / QK, sub0 = b * (k / 32);
        short[] a = act.q;
        for (int r = from; r < to; r++) {
            long o = (long) r * blocks * BYTES;
            float sumf = 0;
            for (int i = 0; i < blocks; i++, o += BYTES) {
                float sumi = 0;
                for (int s = 0; s < 4; s++) {
                    int sub = sub0 + 4 * i + s;
                    long bits = w.get(Numbers.INT, o + 2 + 4 * s) & 0xFFFFFFFFL;
                    int set = 0;
                    for (int l = 0; l < 32; l += W) {
                        VectorMask<Short> m = VectorMask.fromLong(S, bits >>> l);
                        set += ShortVector.fromArray(S, a, sub * 32 + l).reduceLanes(VectorOperators.ADD, m);
                    }
                    sumi += act.d[sub] * (float) (2 * set - act.sum[sub]);
                }
                sumf += Float.float16ToFloat(w.get(Numbers.SHORT, o)) * sumi;
            }
            y[yOff + r] = sumf;
        }
    }
}
