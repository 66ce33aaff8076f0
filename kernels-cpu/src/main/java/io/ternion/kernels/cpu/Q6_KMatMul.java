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
 * Q6_K weights: blocks of 256 as {@code uint8 ql[128], uint8 qh[64], int8 scales[16], fp16 d},
 * decoded in halves of 128: for lane l &lt; 32 the bytes ql[l], ql[l+32] and qh[l] give the four
 * elements l, l+32, l+64, l+96 (4 low bits from ql, 2 high bits from qh, minus 32). A scale covers
 * 16 lanes, i.e. one or two vectors.
 */
final class Q6_KMatMul implements RowKernel {
    private static final int QK = 256, BYTES = 210;
    /** Where a row's accumulator is summed (see dot). */
    private static final ThreadLocal<float[]> LANES = ThreadArrays.floats();

    @Override public GgmlType type() { return GgmlType.Q6_K; }

    @Override
    public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        int blocks = k / QK;
        float[] lanes = ThreadArrays.atLeastFloats(LANES, L);
        for (int r = from; r < to; r++) {
            long base = (long) r * blocks * BYTES;
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            int xb = xOff;
            // The loop variable is the byte offset, so C2 hoists the bounds checks (see F32MatMul).
            for (long o = base, end = base + (long) blocks * BYTES; o < end; o += BYTES, xb += QK) {
                float d = Float.float16ToFloat(w.get(Numbers.SHORT, o + 208));
                for (int half = 0; half < 2; half++) {
                    long ql = o + 64L * half, qh = o + 128 + 32L * half, sc = o + 192 + 8L * half;
                    int xo = xb + 128 * half;
                    for (int l = 0; l < 32; l += L) {
                        int is = l / 16;
                        IntVector low0 = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, ql + l, LE));
                        IntVector low1 = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, ql + 32 + l, LE));
                        IntVector high = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, qh + l, LE));
                        FloatVector q1 = six(low0.and(0xF), high.lanewise(VectorOperators.LSHL, 4));
                        FloatVector q2 = six(low1.and(0xF), high.lanewise(VectorOperators.LSHL, 2));
                        FloatVector q3 = six(low0.lanewise(VectorOperators.LSHR, 4), high);
                        FloatVector q4 = six(low1.lanewise(VectorOperators.LSHR, 4), high.lanewise(VectorOperators.LSHR, 2));
                        a0 = q1.mul(FloatVector.fromArray(F, x, xo + l)).fma(FloatVector.broadcast(F, d * w.get(Numbers.BYTE, sc + is)), a0);
                        a1 = q2.mul(FloatVector.fromArray(F, x, xo + 32 + l)).fma(FloatVector.broadcast(F, d * w.get(Numbers.BYTE, sc + is + 2)), a1);
                        a0 = q3.mul(FloatVector.fromArray(F, x, xo + 64 + l)).fma(FloatVector.broadcast(F, d * w.get(Numbers.BYTE, sc + is + 4)), a0);
                        a1 = q4.mul(FloatVector.fromArray(F, x, xo + 96 + l)).fma(FloatVector.broadcast(F, d * w.get(Numbers.BYTE, sc + is + 6)), a1);
                    }
                }
            }
            // Stored and summed from memory: called after this loop, Vec.sum was past C2's node
            // budget (NodeCountInliningCutoff) and its vector was boxed, 96 bytes of garbage a row.
            a0.add(a1).intoArray(lanes, 0);
            y[yOff + r] = Vec.sumLanes(lanes, 0);
        }
    }

    /**
     * (low4 | bits 4–5 of high) − 32 as floats. The callers shift qh so that the two bits they want
     * sit at bits 4–5, which saves a shift and a mask per vector over ggml's {@code ((qh >> s) & 3) << 4}.
     */
    private static FloatVector six(IntVector low4, IntVector high) {
        return (FloatVector) low4.or(high.and(0x30)).sub(32).convert(VectorOperators.I2F, 0);
    }

    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        long rowBytes = (long) (k / QK) * BYTES;
        int ob = outOff;
        for (long o = from * rowBytes, end = to * rowBytes; o < end; o += BYTES, ob += QK) {
            float d = Float.float16ToFloat(w.get(Numbers.SHORT, o + 208));
            for (int half = 0; half < 2; half++) {
                long ql = o + 64L * half, qh = o + 128 + 32L * half, sc = o + 192 + 8L * half;
                int at = ob + 128 * half;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16;
                    IntVector low0 = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, ql + l, LE));
                    IntVector low1 = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, ql + 32 + l, LE));
                    IntVector high = Vec.unsignedBytes(ByteVector.fromMemorySegment(B, w, qh + l, LE));
                    six(low0.and(0xF), high.lanewise(VectorOperators.LSHL, 4)).mul(d * w.get(Numbers.BYTE, sc + is)).intoArray(out, at + l);
                    six(low1.and(0xF), high.lanewise(VectorOperators.LSHL, 2)).mul(d * w.get(Numbers.BYTE, sc + is + 2)).intoArray(out, at + 32 + l);
                    six(low0.lanewise(VectorOperators.LSHR, 4), high).mul(d * w.get(Numbers.BYTE, sc + is + 4)).intoArray(out, at + 64 + l);
                    six(low1.lanewise(VectorOperators.LSHR, 4), high.lanewise(VectorOperators.LSHR, 2))
                            .mul(d * w.get(Numbers.BYTE, sc + is + 6)).intoArray(out, at + 96 + l);
                }
            }
        }
    }
}
