package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;
import static io.ternion.kernels.cpu.Vec.LE;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** F32 weights: little-endian floats. */
final class F32MatMul implements RowKernel {

    @Override public GgmlType type() { return GgmlType.F32; }

    @Override
    public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        long rowBytes = 4L * k;
        int body = k - k % (4 * L);
        for (int r = from; r < to; r++) {
            long base = r * rowBytes;
            // Four accumulators hide the FMA latency; one would cap the rate at one vector per 4 cycles.
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            int j = xOff;
            // The loop variable is the byte offset (a long): C2 then hoists the segment's bounds
            // checks out of the loop. Counting elements in an int and computing the offset from it
            // streamed at 14 instead of 26 GB/s on one thread (MatVecBenchmark). (C2's
            // auto-vectorizer of scalar loops wants the opposite, an int loop variable.)
            for (long o = base, end = base + 4L * body; o < end; o += 16L * L, j += 4 * L) {
                a0 = FloatVector.fromMemorySegment(F, w, o, LE).fma(FloatVector.fromArray(F, x, j), a0);
                a1 = FloatVector.fromMemorySegment(F, w, o + 4L * L, LE).fma(FloatVector.fromArray(F, x, j + L), a1);
                a2 = FloatVector.fromMemorySegment(F, w, o + 8L * L, LE).fma(FloatVector.fromArray(F, x, j + 2 * L), a2);
                a3 = FloatVector.fromMemorySegment(F, w, o + 12L * L, LE).fma(FloatVector.fromArray(F, x, j + 3 * L), a3);
            }
            int i = body;
            for (; i + L <= k; i += L) {
                a0 = FloatVector.fromMemorySegment(F, w, base + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            }
            float sum = Vec.sum(a0.add(a1).add(a2.add(a3)));
            for (; i < k; i++) sum += w.get(Numbers.FLOAT, base + 4L * i) * x[xOff + i];
            y[yOff + r] = sum;
        }
    }

    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        MemorySegment.copy(w, Numbers.FLOAT, 4L * k * from, out, outOff, (to - from) * k);
    }
}
