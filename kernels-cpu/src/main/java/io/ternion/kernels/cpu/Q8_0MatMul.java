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

/** Q8_0 weights: blocks of 32 as {@code fp16 d, int8 q[32]}; value = q·d. */
final class Q8_0MatMul implements RowKernel {
    private static final int QK = 32, BYTES = 34;

    @Override public GgmlType type() { return GgmlType.Q8_0; }

    @Override
    public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        int blocks = k / QK;
        long rowBytes = (long) blocks * BYTES, pairs = (long) (blocks / 2) * 2 * BYTES;
        for (int r = from; r < to; r++) {
            long base = r * rowBytes;
            // Two accumulators, even and odd blocks, so the per-block FMA chain does not serialize.
            // The loop variable is the byte offset, so C2 hoists the bounds checks (see F32MatMul).
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            int xo = xOff;
            long o = base;
            for (long end = base + pairs; o < end; o += 2 * BYTES, xo += 2 * QK) {
                a0 = block(w, o, x, xo, a0);
                a1 = block(w, o + BYTES, x, xo + QK, a1);
            }
            if (blocks % 2 != 0) a0 = block(w, o, x, xo, a0);
            y[yOff + r] = Vec.sum(a0.add(a1));
        }
    }

    private static FloatVector block(MemorySegment w, long o, float[] x, int xo, FloatVector acc) {
        float d = Float.float16ToFloat(w.get(Numbers.SHORT, o));
        FloatVector s = FloatVector.zero(F);
        for (int j = 0; j < QK; j += L) {
            s = Vec.bytesToFloat(ByteVector.fromMemorySegment(B, w, o + 2 + j, LE)).fma(FloatVector.fromArray(F, x, xo + j), s);
        }
        return s.fma(FloatVector.broadcast(F, d), acc);
    }

    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        long rowBytes = (long) (k / QK) * BYTES;
        int at = outOff;
        for (long o = from * rowBytes, end = to * rowBytes; o < end; o += BYTES, at += QK) {
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(Numbers.SHORT, o)));
            for (int j = 0; j < QK; j += L) {
                Vec.bytesToFloat(ByteVector.fromMemorySegment(B, w, o + 2 + j, LE)).mul(d).intoArray(out, at + j);
            }
        }
    }
}
