package io.ternion.kernels.cpu;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A batch of activation rows as the table-lookup kernels ({@link TernaryPanels}, {@link BinaryPanels},
 * {@link TwoBitPanels}) consume them: per row and chunk the lookup tables, and the row's scales. The
 * sums a kernel accumulates are each thread's own ({@link #intSums}, {@link #floatSums}): in one array
 * shared by the threads, the cache line where one thread's panels meet the next one's went back and
 * forth on every chunk, and two threads ran a 6144×2048 matvec slower than one.
 *
 * <p>For the ternary formats a single vector (a decode step) has its tables built by each thread
 * that uses them, into that thread's own buffer ({@link #tables()}), from the quantized values the
 * caller made once ({@link #perThread}). Built once by the caller and read by all, the tables (22
 * bytes per element of K) sat in the caller's cache and the other thread fetched them from there: a
 * 6912×2560 I2_S matvec took 121 µs on two threads where its quantization took 10 and its dot
 * product, with the tables already in each thread's cache, 88; built on each thread it took 15–20%
 * less (2560×2560 and 6912×2560, alternating runs). A thread keeps its tables while it works through
 * the matrices that share the input (a layer's q, k and v). For Q1_0 and Q2_0, whose weights take
 * fewer bytes per element, the same change measured no faster (building the tables twice costs more
 * of their shorter matvec; in one JVM, 46.5 against 45.3 tok/s). Theirs are quantized and built
 * once, by the threads together, part by part ({@link #split}); every batch (a prompt) is built
 * once ({@link #built}), its rows spread over the threads: building them all on every thread would
 * add a tenth to the work.
 *
 * <p>The arrays are reused from one call to the next on the same thread (an object lives only until
 * its matmul returns): allocating a fresh 50–150 KB of tables per matvec took about as long as
 * building them.
 */
final class TableActivations {
    /** Builds one vector's tables: q[qOff..qOff + k) into out[outOff..outOff + per). */
    @FunctionalInterface
    interface Builder {
        void build(short[] q, int qOff, short[] out, int outOff);
    }

    private static final ThreadLocal<short[]> SHARED = ThreadArrays.shorts();
    private static final ThreadLocal<Own> OWN = ThreadLocal.withInitial(Own::new);
    private static final ThreadLocal<int[]> INT_SUMS = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<float[]> FLOAT_SUMS = ThreadLocal.withInitial(() -> new float[0]);
    private static final AtomicLong NEXT_ID = new AtomicLong();

    /** A thread's own tables for a single vector, and which activations they were built from. */
    private static final class Own {
        long id = -1;
        short[] tables = new short[0];
    }

    final int batch;
    /** The activation scales: Q8_K's d per row and chunk (TQ), the I8 scale per row (I2_S), Q8_0's d per 32 (Q1_0, Q2_0). */
    final float[] d;
    private final long id = NEXT_ID.incrementAndGet();
    private final short[] q;
    private final int per;
    private final Builder builder;
    /** A batch's tables, built once for all threads; null for a single vector. */
    private final short[] shared;
    /** For {@link #split} activations: the parts still to quantize and tabulate; else null. */
    private final Parts parts;

    private TableActivations(int batch, float[] d, short[] q, int per, Builder builder, short[] shared) {
        this(batch, d, q, per, builder, shared, null);
    }

    private TableActivations(int batch, float[] d, short[] q, int per, Builder builder, short[] shared, Parts parts) {
        this.batch = batch;
        this.d = d;
        this.q = q;
        this.per = per;
        this.builder = builder;
        this.shared = shared;
        this.parts = parts;
    }

    /** Quantizes and tabulates activations [from, to) of a single vector. */
    @FunctionalInterface
    interface PartBuilder {
        void build(int from, int to);
    }

    /**
     * A single vector's quantization and tables, cut into parts of {@link #PART} activations that
     * the threads claim in order when they first need the tables ({@link #tables()}): each thread
     * builds what it claims, then waits for the parts the others claimed. Built by the caller
     * before the threads started, as they were until this, they took 6.6 µs a call on Bonsai-1.7B's
     * decode (113 calls a token) while the other thread waited. ModelAB, one JVM, decode on 2
     * threads: Bonsai-1.7B (Q1_0) 1.007–1.080× over three runs, Ternary Bonsai-1.7B (Q2_0, blocks of
     * 128, twice the tables) 1.073×. A thread that comes late finds every part claimed and only waits;
     * one that never comes leaves them all to the others, as {@link WorkerPool} does with its chunks.
     */
    private static final class Parts {
        final int k, count;
        final PartBuilder builder;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        /** A part's failure: counted as done, so that no thread waits for it forever, then rethrown by every waiter. */
        volatile RuntimeException failure;

        Parts(int k, PartBuilder builder) {
            this.k = k;
            this.count = (k + PART - 1) / PART;
            this.builder = builder;
        }

        void await() {
            if (done.get() < count) {
                for (int p; (p = next.getAndIncrement()) < count; done.incrementAndGet()) {
                    try {
                        builder.build(p * PART, Math.min(k, (p + 1) * PART));
                    } catch (RuntimeException e) {
                        failure = e;
                    }
                }
                // Yield now and then, as WorkerPool's waits do: with more threads than cores, the
                // thread building the last part may be waiting for this core.
                for (int spins = 1; done.get() < count; spins++) {
                    if ((spins & 63) == 0) Thread.yield();
                    else Thread.onSpinWait();
                }
            }
            if (failure != null) throw failure;
        }
    }

    /**
     * Activations per part of {@link #split}: a whole number of Q8_0 blocks and table steps; 4 parts a
     * vector of 2048, 12 of 6144.
     */
    static final int PART = 512;

    /**
     * A single vector of k activations whose codes {@code q}, scales {@code d} and {@code tables} (from
     * {@link #splitTables}) the threads that use them make together ({@link Parts}), through {@code builder}.
     */
    static TableActivations split(int k, short[] q, float[] d, short[] tables, PartBuilder builder) {
        return new TableActivations(1, d, q, tables.length, null, tables, new Parts(k, builder));
    }

    /** The calling thread's tables array, at least {@code per} shorts, for {@link #split} activations. */
    static short[] splitTables(int per) {
        return ThreadArrays.atLeast(SHARED, per);
    }

    /**
     * Activations for {@code batch} rows of k quantized values each ({@code q}, row b from b·k) with
     * scales {@code d}, whose tables ({@code per} shorts a row) {@code builder} makes: for a batch now
     * ({@link #built}); for a single row later, on each thread that reads them.
     */
    static TableActivations perThread(int batch, int k, short[] q, float[] d, int per, Builder builder, WorkerPool pool) {
        return batch == 1 ? new TableActivations(1, d, q, per, builder, null) : built(batch, k, q, d, per, builder, pool);
    }

    /** As {@link #perThread}, with the tables built now, the rows over the pool's threads, and shared by all. */
    static TableActivations built(int batch, int k, short[] q, float[] d, int per, Builder builder, WorkerPool pool) {
        int size = batch * per;
        short[] tables = ThreadArrays.atLeast(SHARED, size);
        pool.parallelFor(batch, (from, to) -> {
            for (int b = from; b < to; b++) builder.build(q, b * k, tables, b * per);
        });
        return new TableActivations(batch, d, q, per, builder, tables);
    }

    /** The tables, batch × the kernel's tables per row: the batch's shared ones, or this thread's own for a single row. */
    short[] tables() {
        if (parts != null) parts.await();
        if (shared != null) return shared;
        Own own = OWN.get();
        if (own.id != id) {
            if (own.tables.length < per) own.tables = new short[per];
            builder.build(q, 0, own.tables, 0);
            own.id = id;
        }
        return own.tables;
    }

    /** This thread's integer sums, the first {@code n} zeroed. */
    static int[] intSums(int n) {
        int[] s = INT_SUMS.get();
        if (s.length < n) INT_SUMS.set(s = new int[n]);
        else Arrays.fill(s, 0, n, 0);
        return s;
    }

    /** This thread's float sums, the first {@code n} zeroed. */
    static float[] floatSums(int n) {
        float[] s = FLOAT_SUMS.get();
        if (s.length < n) FLOAT_SUMS.set(s = new float[n]);
        else Arrays.fill(s, 0, n, 0);
        return s;
    }
}
