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
 * Q4_0 weights: blocks of 32 as {@code fp16 d, uint8 qs[16]}; element j &lt; 16 is the low nibble of
 * qs[j], element j+16 the high one; value = (nibble − 8)·d. Nibbles are split in int lanes (x86
 * has no byte shifts). The −8 is applied once per block as −8·d·Σx over the block, with the sums of
 * x computed once per call, instead of once per weight.
 */
final class Q4_0MatMul implements RowKernel {
    private static final int QK = 32, BYTES = 18;

    @Override public GgmlType type() { return GgmlType.Q4_0; }

    @Override
    public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        int blocks = k / QK;
        float[] xSums = Vec.sumsOf32(x, xOff, k);
        long rowBytes = (long) blocks * BYTES, pairs = (long) (blocks / 2) * 2 * BYTES;
        for (int r = from; r < to; r++) {
            long base = r * rowBytes;
            // Two accumulators, even and odd blocks, so the per-block FMA chain does not serialize.
            // The loop variable is the byte offset, so C2 hoists the bounds checks (see F32MatMul).
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            float offset = 0;
            int xo = xOff, b = 0;
            long o = base;
            for (long end = base + pairs; o < end; o += 2 * BYTES, xo += 2 * QK, b += 2) {
                float d0 = Float.float16ToFloat(w.get(Numbers.SHORT, o)), d1 = Float.float16ToFloat(w.get(Numbers.SHORT, o + BYTES));
                a0 = block(w, o, d0, x, xo, a0);
                a1 = block(w, o + BYTES, d1, x, xo + QK, a1);
                offset += d0 * xSums[b] + d1 * xSums[b + 1];
            }
            if (blocks % 2 != 0) {
                float d = Float.float16ToFloat(w.get(Numbers.SHORT, o));
                a0 = block(w, o, d, x, xo, a0);
                offset += d * xSums[b];
            }
            y[yOff + r] = Vec.sum(a0.add(a1)) - 8 * offset;
        }
    }

    /** acc + d·Σ nibble·x over one block. */
    private static FloatVector block(MemorySegment w, long o, float d, float[] x, int xo, FloatVector acc) {
        FloatVector s = FloatVector.zero(F);
        for (int j = 0; j < 16; j += L) {
            IntVector q = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, o + 2 + j, LE));
            FloatVector lo = (FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector hi = (FloatVector) q.lanewise(VectorOperators.LSHR, 4).convert(VectorOperators.I2F, 0);
            s = lo.fma(FloatVector.fromArray(F, x, xo + j), s);
            s = hi.fma(FloatVector.fromArray(F, x, xo + 16 + j), s);
        }
        return s.fma(FloatVector.broadcast(F, d), acc);
    }

    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        long rowBytes = (long) (k / QK) * BYTES;
        int at = outOff;
        for (long o = from * rowBytes, end = to * rowBytes; o < end; o += BYTES, at += QK) {
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Numbers.SHORT, o)));
            for (int j = 0; j < 16; j += L) {
                IntVector q = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, o + 2 + j, LE));
                ((FloatVector) q.and(0xF).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at + j);
                ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub(8).convert(VectorOperators.I2F, 0)).mul(d).intoArray(out, at + 16 + j);
            }
        }
    }
}
