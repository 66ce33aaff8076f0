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
 * The read-bandwidth probe: a Vector API sum over 1 GiB off-heap (32× a 32 MiB L3), in rows of
 * 4 KiB split over a {@link WorkerPool} as the kernels split a matrix's rows. The JMH
 * {@code BandwidthProbe} and {@code ternion bench} both measure with it, so a kernel's bytes/s and a
 * decode step's roofline fraction are divided by the same figure.
 *
 * <p>Rows of 4 KiB, about the length of the kernels' own inner loops (an F16 head row is 5 KiB, a
 * panel chunk 1–2 KiB). With rows of 64 KiB it read 1.2–1.5× less than with rows of 4–5 KiB over the
 * same buffer, alternating JVMs, and less than the kernels themselves: the F16 head's matvec read
 * 39–57 GB/s while it read 27 (README, "Loop-carried vectors").
 */
public final class ReadBandwidth implements AutoCloseable {
    public static final long SIZE = 1L << 30;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int ROW = 4 << 10, ROWS = (int) (SIZE / ROW);

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
    public float sum(WorkerPool pool) {
        pool.parallelFor(ROWS, (from, to) -> {
            for (int r = from; r < to; r++) partial[r] = sumRow((long) r * ROW);
        });
        float s = 0;
        for (float p : partial) s += p;
        return s;
    }

    /** The median bytes/s of {@code passes} timed passes after {@code warmups} untimed ones. */
    public double measure(WorkerPool pool, int warmups, int passes) {
        float s = 0;
        for (int i = 0; i < warmups; i++) s += sum(pool);
        double[] rates = new double[passes];
        for (int i = 0; i < passes; i++) {
            long t0 = System.nanoTime();
            s += sum(pool);
            rates[i] = SIZE / ((System.nanoTime() - t0) / 1e9);
        }
        sink = s;
        Arrays.sort(rates);
        return rates[passes / 2];
    }

    private float sumRow(long base) {
        int step = F.vectorByteSize();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (long o = base; o < base + ROW; o += 4L * step) {
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
