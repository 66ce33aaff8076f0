package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;
import static io.ternion.kernels.cpu.Vec.LE;
import static io.ternion.kernels.cpu.Vec.S;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;

/**
 * F16 weights (the tied output head of BitNet 2B4T: the largest single tensor a decode step reads).
 * Halves are widened in registers ({@link Vec#halfToFloat}); bench's F16VariantsBenchmark holds the
 * alternatives measured against it. Two accumulators: with four (and an earlier, longer conversion)
 * C2 stopped keeping the vectors in registers and allocated each one, 5× slower.
 */
final class F16MatMul implements RowKernel {

    @Override public GgmlType type() { return GgmlType.F16; }

    @Override
    public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        long rowBytes = 2L * k;
        int body = k - k % (2 * L);
        for (int r = from; r < to; r++) {
            long base = r * rowBytes;
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            int j = xOff;
            // A long byte offset as the loop variable lets C2 hoist the bounds checks (see F32MatMul).
            for (long o = base, end = base + 2L * body; o < end; o += 4L * L, j += 2 * L) {
                a0 = Vec.halfToFloat(ShortVector.fromMemorySegment(S, w, o, LE)).fma(FloatVector.fromArray(F, x, j), a0);
                a1 = Vec.halfToFloat(ShortVector.fromMemorySegment(S, w, o + 2L * L, LE)).fma(FloatVector.fromArray(F, x, j + L), a1);
            }
            int i = body;
            for (; i + L <= k; i += L) {
                a0 = Vec.halfToFloat(ShortVector.fromMemorySegment(S, w, base + 2L * i, LE)).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            }
            float sum = Vec.sum(a0.add(a1));
            for (; i < k; i++) sum += Float.float16ToFloat(w.get(Numbers.SHORT, base + 2L * i)) * x[xOff + i];
            y[yOff + r] = sum;
        }
    }

    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        long base = 2L * k * from;
        int n = (to - from) * k, body = F.loopBound(n), j = outOff;
        for (long o = base, end = base + 2L * body; o < end; o += 2L * L, j += L) {
            Vec.halfToFloat(ShortVector.fromMemorySegment(S, w, o, LE)).intoArray(out, j);
        }
        for (int i = body; i < n; i++) out[outOff + i] = Float.float16ToFloat(w.get(Numbers.SHORT, base + 2L * i));
    }
}
