package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * TQ2_0 weights (llama.cpp): blocks of 256 as {@code uint8 qs[64], fp16 d}; byte m of half h holds
 * elements 128h + m + 32n at bits 2n. As {@code ggml_vec_dot_tq2_0_q8_K}: per block the exact
 * integer {@code sumi = Σ (c − 1)·q}, then {@code sumf += (float) sumi · (d_y · fp16(d_x))} in
 * float, block after block.
 */
final class TQ2_0MatMul extends ActivationKernel<Q8KActivations> {
    private static final int QK = 256, BYTES = 66;
    /** Within a block: the same for every block, so one order serves any K. */
    private static final int[] ORDER = TwoBitLanes.order(64, (b, f) -> b / 32 * 128 + b % 32 + 32 * f);
    private static final int VECTORS = 64 / TwoBitLanes.BYTES;

    @Override public GgmlType type() { return GgmlType.TQ2_0; }

    @Override
    Q8KActivations quantize(float[] x, int xOff, int k, int batch) {
        return Q8KActivations.quantize(x, xOff, k, batch, ORDER);
    }

    @Override
    void dot(MemorySegment w, int k, int from, int to, Q8KActivations act, int b, float[] y, int yOff) {
        int blocks = k / QK, blk0 = b * blocks;
        short[] a = act.q;
        for (int r = from; r < to; r++) {
            long o = (long) r * blocks * BYTES;
            float sumf = 0;
            for (int i = 0; i < blocks; i++, o += BYTES) {
                ShortVector acc = TwoBitLanes.dot(w, o, a, (blk0 + i) * QK, VECTORS, ShortVector.zero(TwoBitLanes.S));
                // Σc·q may pass 2^15, but Σ(c − 1)·q is within ±256·127: the lane sum is right
                // modulo 2^16, and so is the difference, which then fits a short exactly.
                int sumi = (short) (acc.reduceLanes(VectorOperators.ADD) - act.sum[blk0 + i]);
                float d = act.d[blk0 + i] * Float.float16ToFloat(w.get(Numbers.SHORT, o + 64));
                sumf += (float) sumi * d;
            }
            y[yOff + r] = sumf;
        }
    }
}
