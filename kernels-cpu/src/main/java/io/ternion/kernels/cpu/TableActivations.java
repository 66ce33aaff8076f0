package io.ternion.kernels.cpu;

import java.util.Arrays;

/**
 * A batch of activation rows as the table-lookup kernels ({@link TernaryPanels}, {@link BinaryPanels},
 * {@link TwoBitPanels})
 * consume them: per row and chunk the lookup tables, and the row's scales. The sums a kernel
 * accumulates are each thread's own ({@link #intSums}, {@link #floatSums}): in one array shared by
 * the threads, the cache line where one thread's panels meet the next one's went back and forth on
 * every chunk, and two threads ran a 6144×2048 matvec slower than one.
 *
 * <p>The arrays are reused from one call to the next on the same thread (an object lives only until
 * its matmul returns): allocating a fresh 50–150 KB of tables per matvec took about as long as
 * building them.
 */
final class TableActivations {
    private static final ThreadLocal<TableActivations> LAST = new ThreadLocal<>();
    private static final ThreadLocal<int[]> INT_SUMS = ThreadLocal.withInitial(() -> new int[0]);
    private static final ThreadLocal<float[]> FLOAT_SUMS = ThreadLocal.withInitial(() -> new float[0]);

    final int batch;
    /** batch × chunks × the kernel's tables per chunk, in shorts (possibly longer). */
    final short[] tables;
    /** The activation scales: Q8_K's d per row and chunk (TQ), the I8 scale per row (I2_S), Q8_0's d per 32 (Q1_0, Q2_0). */
    float[] d;

    private TableActivations(int batch, short[] tables) {
        this.batch = batch;
        this.tables = tables;
    }

    /** Activations for {@code batch} rows with room for {@code tables} shorts. */
    static TableActivations of(int batch, int tables) {
        TableActivations last = LAST.get();
        short[] t = last != null && last.tables.length >= tables ? last.tables : new short[tables];
        TableActivations a = new TableActivations(batch, t);
        LAST.set(a);
        return a;
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
