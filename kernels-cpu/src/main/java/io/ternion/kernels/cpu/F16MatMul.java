package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Vec.F;
import static io.ternion.kernels.cpu.Vec.L;
import static io.ternion.kernels.cpu.Vec.LE;
import static io.ternion.kernels.cpu.Vec.S;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * F16 weights (the tied output head of BitNet 2B4T: the largest single tensor a decode step reads).
 * Halves are widened in registers ({@link Vec#halfToFloat}, exact for every half); bench's
 * F16VariantsBenchmark holds the alternatives measured against it. Two accumulators: with four (and
 * an earlier, longer conversion) C2 stopped keeping the vectors in registers and allocated each
 * one, 5× slower. A tensor that {@link #allFinite} clears runs on {@link Finite} instead.
 */
class F16MatMul implements RowKernel {

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

    /**
     * The kernel for F16 tensors with no half of exponent 31 (no ±∞, no NaN): the same loop with
     * {@link Vec#finiteHalfToFloat}, four operations per vector instead of ten, and the same bits,
     * since both conversions are exact on the halves it is given. At one thread the head's matvec
     * is bound by these operations, not by memory. Only {@link MatMul#prepare} picks it, after
     * {@link #allFinite} has read the whole tensor; any other tensor (a hostile or odd file's)
     * keeps the exact kernel and IEEE ∞/NaN semantics. Its own class and its own copy of the loop,
     * so that C2 compiles each loop on its own with no branch between the conversions inside it:
     * one shared loop taking the choice as a constant argument ran the exact kernel 1.8× slower
     * (F16VariantsBenchmark, kernelExact against vectorExact in one run; the copy: 1.0×).
     */
    static final class Finite extends F16MatMul {
        @Override
        public void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
            long rowBytes = 2L * k;
            int body = k - k % (2 * L);
            for (int r = from; r < to; r++) {
                long base = r * rowBytes;
                FloatVector a0 = FloatVector.zero(F), a1 = a0;
                int j = xOff;
                for (long o = base, end = base + 2L * body; o < end; o += 4L * L, j += 2 * L) {
                    a0 = Vec.finiteHalfToFloat(ShortVector.fromMemorySegment(S, w, o, LE)).fma(FloatVector.fromArray(F, x, j), a0);
                    a1 = Vec.finiteHalfToFloat(ShortVector.fromMemorySegment(S, w, o + 2L * L, LE)).fma(FloatVector.fromArray(F, x, j + L), a1);
                }
                int i = body;
                for (; i + L <= k; i += L) {
                    a0 = Vec.finiteHalfToFloat(ShortVector.fromMemorySegment(S, w, base + 2L * i, LE)).fma(FloatVector.fromArray(F, x, xOff + i), a0);
                }
                float sum = Vec.sum(a0.add(a1));
                for (; i < k; i++) sum += Float.float16ToFloat(w.get(Numbers.SHORT, base + 2L * i)) * x[xOff + i];
                y[yOff + r] = sum;
            }
        }
    }

    /** Halves per chunk of {@link #allFinite}'s scan: 1 MiB, many chunks per thread for a head of 656 MB. */
    private static final long SCAN_CHUNK_HALVES = 1 << 19;
    /** The widest short vectors: the scan is two operations per vector and wants as few as possible. */
    private static final VectorSpecies<Short> SCAN = ShortVector.SPECIES_PREFERRED;

    /**
     * Whether no half of {@code w} has exponent 31 (±∞ or NaN), so that {@link Finite} computes
     * exactly what this kernel does. Reads the whole tensor once on the pool's threads: for a mapped
     * file this also faults its pages in, which the first forward would otherwise do.
     */
    static boolean allFinite(Tensor w, WorkerPool pool) {
        MemorySegment data = w.data();
        long halves = w.rows() * w.rowLength();
        int chunks = Math.toIntExact((halves + SCAN_CHUNK_HALVES - 1) / SCAN_CHUNK_HALVES);
        AtomicBoolean special = new AtomicBoolean();
        pool.parallelFor(chunks, (from, to) -> {
            long start = 2 * from * SCAN_CHUNK_HALVES, end = 2 * Math.min(halves, to * SCAN_CHUNK_HALVES);
            if (!allFinite(data, start, end)) special.set(true);
        });
        return !special.get();
    }

    /**
     * Whether the halves in bytes {@code [start, end)} of {@code data} all have an exponent below 31:
     * the largest magnitude (sign cleared) is below 0x7c00. A running lane-wise maximum, reduced
     * once, so the loop is a load, an AND and a MAX per vector.
     */
    static boolean allFinite(MemorySegment data, long start, long end) {
        int bytes = SCAN.vectorByteSize();
        ShortVector max = ShortVector.zero(SCAN);
        long o = start;
        for (long body = end - (end - start) % bytes; o < body; o += bytes) {
            max = ShortVector.fromMemorySegment(SCAN, data, o, LE).and((short) 0x7fff).max(max); // fresh receiver (Vec.sumsOf32)
        }
        short largest = max.reduceLanes(VectorOperators.MAX);
        for (; o < end; o += 2) largest = (short) Math.max(largest, data.get(Numbers.SHORT, o) & 0x7fff);
        return largest < 0x7c00;
    }
}
