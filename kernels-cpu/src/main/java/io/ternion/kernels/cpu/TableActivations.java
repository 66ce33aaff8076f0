package io.ternion.kernels.cpu;

/**
 * A batch of activation rows as the table-lookup kernels ({@link TernaryPanels}, {@link BinaryPanels})
 * consume them: per row and chunk the lookup tables, the row's scales, and the sums the kernel
 * accumulates (shared by the threads, each of which owns whole panels of them).
 */
final class TableActivations {
    final int batch;
    /** batch × chunks × the kernel's tables per chunk, in shorts. */
    final short[] tables;
    /** The activation scales: Q8_K's d per row and chunk (TQ), the I8 scale per row (I2_S), Q8_0's d per 32 (Q1_0). */
    final float[] d;
    /** Per row, panels·64 sums: ints for an unscaled matrix, floats for a scaled one. */
    final int[] isum;
    final float[] fsum;

    TableActivations(int batch, short[] tables, float[] d, int sums, boolean scaled) {
        this.batch = batch;
        this.tables = tables;
        this.d = d;
        isum = scaled ? null : new int[batch * sums];
        fsum = scaled ? new float[batch * sums] : null;
    }
}
