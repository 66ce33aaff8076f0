package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.TwoBitLanes.BYTES;
import static io.ternion.kernels.cpu.TwoBitLanes.FLUSH;
import static io.ternion.kernels.cpu.TwoBitLanes.WEIGHTS;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.I2_SCodec;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * I2_S weights (bitnet.cpp, x86 layout): codes 0/1/2 for −1/0/+1, 128-element blocks of 32 bytes,
 * element 32g + m of a block at bits 6 − 2g of byte m; one float scale for the tensor after the
 * codes. bitnet.cpp's {@code ggml_vec_dot_i2_i8_s} returns S = Σ code·q over the row, and
 * {@code mul_mat} turns it into {@code (S − Σq) / act_scale · w_scale} in float; so does this.
 */
final class I2_SMatMul extends ActivationKernel<ActivationI8> {
    /** Activation orders by row length: the same few K recur for a whole model. */
    private static final ConcurrentHashMap<Integer, int[]> ORDERS = new ConcurrentHashMap<>();

    @Override public GgmlType type() { return GgmlType.I2_S; }

    /** Row bytes covered by whole vectors; the rest (a K of an odd number of blocks) is summed scalar. */
    private static int vectorBytes(int k) {
        return k / 4 / BYTES * BYTES;
    }

    private static int[] order(int k) {
        return ORDERS.computeIfAbsent(k, kk -> {
            int[] head = TwoBitLanes.order(vectorBytes(kk), (b, f) -> element(b, f));
            int[] order = new int[kk];
            for (int p = 0; p < kk; p++) order[p] = p < head.length ? head[p] : p;
            return order;
        });
    }

    /** Element (within the row) of the code at bits 2f..2f+1 of row byte b. */
    private static int element(int b, int f) {
        return b / 32 * 128 + 32 * (3 - f) + b % 32;
    }

    @Override
    ActivationI8 quantize(float[] x, int xOff, int k, int batch) {
        return ActivationI8.quantize(x, xOff, k, batch, order(k));
    }

    @Override
    void dot(MemorySegment w, int k, int from, int to, ActivationI8 act, int b, float[] y, int yOff) {
        float wScale = I2_SCodec.scale(w), aScale = act.scale[b];
        int rowBytes = k / 4, vectors = vectorBytes(k) / BYTES, a0 = b * k;
        short[] a = act.q;
        for (int r = from; r < to; r++) {
            long base = (long) r * rowBytes;
            IntVector sum = IntVector.zero(TwoBitLanes.I);
            for (int v = 0; v < vectors; v += FLUSH) {
                int n = Math.min(FLUSH, vectors - v);
                ShortVector acc = TwoBitLanes.dot(w, base + (long) v * BYTES, a, a0 + v * WEIGHTS, n, ShortVector.zero(TwoBitLanes.S));
                sum = TwoBitLanes.widen(acc, sum);
            }
            int s = sum.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
            for (int bt = vectors * BYTES; bt < rowBytes; bt++) {
                int q = w.get(Numbers.BYTE, base + bt) & 0xFF;
                for (int f = 0; f < 4; f++) s += ((q >> (2 * f)) & 3) * a[a0 + element(bt, f)];
            }
            y[yOff + r] = ((float) s - (float) act.sum[b]) / aScale * wScale;
        }
    }
}
