package io.ternion.kernels.cpu;

/**
 * A batch of activation rows as the table-lookup kernels ({@link TernaryPanels}, {@link BinaryPanels})
 * consume them: per row and chunk the lookup tables, the row's scales, and the sums the kernel
 * accumulates (shared by the threads, each of which owns whole panels of them).
 *
 * <p>The arrays are reused from one call to the next on the same calling thread (an object lives
 * only until its matmul returns): allocating a fresh 50–150 KB of tables per matvec took about as
 * long as building them.
 */
final class TableActivations {
    private static final ThreadLocal<TableActivations> LAST = new ThreadLocal<>();

    final int batch;
    /** batch × chunks × the kernel's tables per chunk, in shorts (possibly longer). */
    final short[] tables;
    /** The activation scales: Q8_K's d per row and chunk (TQ), the I8 scale per row (I2_S), Q8_0's d per 32 (Q1_0). */
    float[] d;
    /** Per row, panels·64 sums (possibly longer): ints for an unscaled matrix, floats for a scaled one. */
    final int[] isum;
    final float[] fsum;

    private TableActivations(int batch, short[] tables, int[] isum, float[] fsum) {
        this.batch = batch;
        this.tables = tables;
        this.isum = isum;
        this.fsum = fsum;
    }

    /** Activations for {@code batch} rows with room for {@code tables} shorts and {@code sums} sums per row. */
    static TableActivations of(int batch, int tables, int sums, boolean scaled) {
        TableActivations last = LAST.get();
        short[] t = last != null && last.tables.length >= tables ? last.tables : new short[tables];
        int[] is = null;
        float[] fs = null;
        if (scaled) fs = last != null && last.fsum != null && last.fsum.length >= batch * sums ? last.fsum : new float[batch * sums];
        else is = last != null && last.isum != null && last.isum.length >= batch * sums ? last.isum : new int[batch * sums];
        TableActivations a = new TableActivations(batch, t, is, fs);
        LAST.set(a);
        return a;
    }
}
