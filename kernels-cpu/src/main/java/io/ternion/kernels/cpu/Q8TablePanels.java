package io.ternion.kernels.cpu;

/**
 * Packed weights whose kernel meets Q8_0 activations through lookup tables built per vector and
 * chunk of K ({@link BinaryPanels} for Q1_0, {@link TwoBitPanels} for Q2_0): what
 * {@link Q8TableKernel} needs to quantize, build the tables and hand stripes to the threads once for both.
 */
interface Q8TablePanels {
    /** Rows of a panel: the lanes of two short vectors. */
    int ROWS = 64;

    int k();

    int n();

    int panels();

    /** Units of work: at most one per thread of the pool that packed them. */
    int stripes();

    int stripeWidth();

    long bytes();

    /** Shorts of tables per activation vector. */
    int tablesPerVector();

    /** Vector {@code q} (Q8_0 codes from qOff, k of them) as this layout's tables, into out from outOff. */
    void tables(short[] q, int qOff, short[] out, int outOff);

    /** Panels [from, to) against every vector's tables, into fsum (vector b's row r at b·(to − from)·64 + r − from·64). */
    void dot(int from, int to, short[] tab, int batch, float[] d, float[] fsum);
}
