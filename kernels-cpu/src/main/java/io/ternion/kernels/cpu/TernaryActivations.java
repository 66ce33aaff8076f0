package io.ternion.kernels.cpu;

/**
 * A batch of activation rows as {@link TernaryPanels} consumes them: per row and chunk the lookup
 * tables, the row's scale(s), and the sums the kernel accumulates (shared by the threads, each of
 * which owns whole panels of them).
 */
final class TernaryActivations {
    final int batch;
    /** batch × chunks × {@link TernaryPanels#CHUNK_TABLES} shorts. */
    final short[] tables;
    /** Scaled formats: Q8_K's d per row and chunk; unscaled: the I8 scale per row. */
    final float[] d;
    /** Per row, panels·64 sums: ints for an unscaled matrix, floats for a scaled one. */
    final int[] isum;
    final float[] fsum;

    TernaryActivations(int batch, short[] tables, float[] d, int sums, boolean scaled) {
        this.batch = batch;
        this.tables = tables;
        this.d = d;
        isum = scaled ? null : new int[batch * sums];
        fsum = scaled ? new float[batch * sums] : null;
    }
}
