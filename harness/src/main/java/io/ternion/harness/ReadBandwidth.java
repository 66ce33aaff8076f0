package io.ternion.harness;

import io.ternion.kernels.cpu.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The read-bandwidth probe: a Vector API sum over 1 GiB off-heap (32× a 32 MiB L3), split over a
 * {@link WorkerPool}, read in two {@link Pattern}s; {@link #measure} reports the faster. The JMH
 * {@code BandwidthProbe} and {@code ternion bench} both measure with it, so a kernel's bytes/s and a
 * decode step's roofline fraction are divided by the same figure.
 *
 * <p>Two patterns because neither read the most on every host. On one, rows of 4 KiB (about the
 * length of the kernels' own inner loops: an F16 head row is 5 KiB, a panel chunk 1–2 KiB) read
 * 1.2–1.5× more than rows of 64 KiB over the same buffer, alternating JVMs, and still less than the
 * kernels themselves: the F16 head's matvec read 39–57 GB/s while it read 27 (README, "Loop-carried
 * vectors"). On the Zen 4 host of 2026-12-07, in one JVM, one contiguous share per thread read
 * 1.05–1.7× more than the rows of 4 KiB, and the ternary kernels' repacked matrices streamed
 * faster than the rows too (README, "The probe's two patterns").
 */
public final class ReadBandwidth implements AutoCloseable {
    public static final long SIZE = 1L << 30;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int ROW = 4 << 10, ROWS = (int) (SIZE / ROW), STREAM_ROW = 1 << 20;

    /** How a pass reads the buffer. */
    public enum Pattern {
        /** Rows of 4 KiB, handed out to the threads in chunks as the kernels' rows are. */
        ROWS,
        /** One contiguous share per thread, read front to back, as the repacked kernels' stripes are. */
        STREAMS
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer;
    private final float[] partial = new float[ROWS];
    /** Where {@link #measure} leaves its sums, so that the JIT cannot drop the reads. */
    private volatile float sink;

    public ReadBandwidth() {
        buffer = arena.allocate(SIZE, 4096);
        buffer.fill((byte) 1); // touch every page, so no pass measures page faults
    }

    /** One pass over the buffer; the sum is returned so that the JIT cannot drop the reads. */
    public float sum(WorkerPool pool, Pattern pattern) {
        int rows;
        if (pattern == Pattern.ROWS) {
            rows = ROWS;
            pool.parallelFor(ROWS, (from, to) -> {
                for (int r = from; r < to; r++) partial[r] = sumRow((long) r * ROW, ROW);
            });
        } else {
            int threads = pool.threads(), streamRows = (int) (SIZE / STREAM_ROW);
            rows = streamRows;
            pool.parallelFor(threads, (from, to) -> {
                for (int t = from; t < to; t++) {
                    for (int r = streamRows * t / threads, end = streamRows * (t + 1) / threads; r < end; r++) {
                        partial[r] = sumRow((long) r * STREAM_ROW, STREAM_ROW);
                    }
                }
            });
        }
        float s = 0;
        for (int r = 0; r < rows; r++) s += partial[r];
        return s;
    }

    /**
     * The bytes/s of the faster pattern, each the median of {@code passes} timed passes after
     * {@code warmups} untimed ones; the patterns' passes alternate, so that both see the same
     * moments of a shared machine.
     */
    public double measure(WorkerPool pool, int warmups, int passes) {
        float s = 0;
        Pattern[] patterns = Pattern.values();
        for (int i = 0; i < warmups; i++) {
            for (Pattern p : patterns) s += sum(pool, p);
        }
        double[][] rates = new double[patterns.length][passes];
        for (int i = 0; i < passes; i++) {
            for (int p = 0; p < patterns.length; p++) {
                long t0 = System.nanoTime();
                s += sum(pool, patterns[p]);
                rates[p][i] = SIZE / ((System.nanoTime() - t0) / 1e9);
            }
        }
        sink = s;
        double best = 0;
        for (double[] r : rates) {
            Arrays.sort(r);
            best = Math.max(best, r[passes / 2]);
        }
        return best;
    }

    private float sumRow(long base, int length) {
        int step = F.vectorByteSize();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (long o = base; o < base + length; o += 4L * step) {
            a0 = FloatVector.fromMemorySegment(F, buffer, o, ByteOrder.LITTLE_ENDIAN).add(a0);
            a1 = FloatVector.fromMemorySegment(F, buffer, o + step, ByteOrder.LITTLE_ENDIAN).add(a1);
            a2 = FloatVector.fromMemorySegment(F, buffer, o + 2L * step, ByteOrder.LITTLE_ENDIAN).add(a2);
            a3 = FloatVector.fromMemorySegment(F, buffer, o + 3L * step, ByteOrder.LITTLE_ENDIAN).add(a3);
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void close() {
        arena.close();
    }
}
