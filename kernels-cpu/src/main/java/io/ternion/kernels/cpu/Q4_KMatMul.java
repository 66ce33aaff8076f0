package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.B;
import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;
import static io.ternion.kernels.cpu.Vec.LE;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K weights: blocks of 256 as {@code fp16 d, fp16 dmin, uint8 scales[12], uint8 qs[128]}, eight
 * sub-blocks of 32 with a 6-bit scale and min each; value = d·sc·q − dmin·m. Chunk c of 64 elements
 * reads 32 bytes: low nibbles are sub-block 2c, high nibbles sub-block 2c+1.
 *
 * <p>The min term of a sub-block is dmin·m·Σx over its 32 elements; those sums of x are computed
 * once per call and shared by all rows, so the inner loop only multiplies nibbles by x.
 */
final class Q4_KMatMul implements RowKernel {
    private static final int QK = 256, BYTES = 144;

    @Override public GgmlType type() { return GgmlType.Q4_K; }

    @Override
    public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        int blocks = k / QK;
        float[] xSums = Vec.sumsOf32(x, xOff, k);
        for (int r = from; r < to; r++) {
            long base = (long) r * blocks * BYTES;
            // Low and high nibbles accumulate apart: two FMA chains instead of one.
            FloatVector accLo = FloatVector.zero(F), accHi = accLo;
            float mins = 0;
            int b = 0;
            // The loop variable is the byte offset, so C2 hoists the bounds checks (see F32MatMul).
            for (long o = base, end = base + (long) blocks * BYTES; o < end; o += BYTES, b++) {
                float d = Float.float16ToFloat(w.get(Numbers.SHORT, o));
                float dmin = Float.float16ToFloat(w.get(Numbers.SHORT, o + 2));
                long scalesLo = w.get(Numbers.LONG, o + 4);
                int scalesHi = w.get(Numbers.INT, o + 12);
                int xo = xOff + b * QK;
                for (int c = 0; c < 4; c++) {
                    int sm1 = scaleMin(scalesLo, scalesHi, 2 * c), sm2 = scaleMin(scalesLo, scalesHi, 2 * c + 1);
                    FloatVector lo = FloatVector.zero(F), hi = lo;
                    long q = o + 16 + 32L * c;
                    for (int l = 0; l < 32; l += L) {
                        IntVector n = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, q + l, LE));
                        lo = ((FloatVector) n.and(0xF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, x, xo + 64 * c + l), lo);
                        hi = ((FloatVector) n.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0))
                                .fma(FloatVector.fromArray(F, x, xo + 64 * c + 32 + l), hi);
                    }
                    accLo = lo.fma(FloatVector.broadcast(F, d * (sm1 & 0xFF)), accLo);
                    accHi = hi.fma(FloatVector.broadcast(F, d * (sm2 & 0xFF)), accHi);
                    mins += dmin * (sm1 >>> 8) * xSums[8 * b + 2 * c] + dmin * (sm2 >>> 8) * xSums[8 * b + 2 * c + 1];
                }
            }
            y[yOff + r] = Vec.sum(accLo.add(accHi)) - mins;
        }
    }

    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        long rowBytes = (long) (k / QK) * BYTES;
        int at = outOff;
        for (long o = from * rowBytes, end = to * rowBytes; o < end; o += BYTES, at += QK) {
            float d = Float.float16ToFloat(w.get(Numbers.SHORT, o));
            float dmin = Float.float16ToFloat(w.get(Numbers.SHORT, o + 2));
            long scalesLo = w.get(Numbers.LONG, o + 4);
            int scalesHi = w.get(Numbers.INT, o + 12);
            for (int c = 0; c < 4; c++) {
                int sm1 = scaleMin(scalesLo, scalesHi, 2 * c), sm2 = scaleMin(scalesLo, scalesHi, 2 * c + 1);
                FloatVector d1 = FloatVector.broadcast(F, d * (sm1 & 0xFF)), m1 = FloatVector.broadcast(F, dmin * (sm1 >>> 8));
                FloatVector d2 = FloatVector.broadcast(F, d * (sm2 & 0xFF)), m2 = FloatVector.broadcast(F, dmin * (sm2 >>> 8));
                long q = o + 16 + 32L * c;
                for (int l = 0; l < 32; l += L) {
                    IntVector n = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, q + l, LE));
                    ((FloatVector) n.and(0xF).convert(VectorOperators.I2F, 0)).mul(d1).sub(m1).intoArray(out, at + 64 * c + l);
                    ((FloatVector) n.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0)).mul(d2).sub(m2)
                            .intoArray(out, at + 64 * c + 32 + l);
                }
            }
        }
    }

    /**
     * ggml's {@code get_scale_min_k4} for sub-block j, from the 12 scale bytes held as a long (bytes
     * 0–7) and an int (bytes 8–11): the scale in bits 0–7 of the result, the min in bits 8–15.
     */
    static int scaleMin(long lo, int hi, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(lo, hi, j) & 63;
            m = u8(lo, hi, j + 4) & 63;
        } else {
            sc = (u8(lo, hi, j + 4) & 0xF) | ((u8(lo, hi, j - 4) >> 6) << 4);
            m = (u8(lo, hi, j + 4) >> 4) | ((u8(lo, hi, j) >> 6) << 4);
        }
        return sc | m << 8;
    }

    private static int u8(long lo, int hi, int i) {
        return i < 8 ? (int) (lo >>> (8 * i)) & 0xFF : (hi >>> (8 * (i - 8))) & 0xFF;
    }
}
