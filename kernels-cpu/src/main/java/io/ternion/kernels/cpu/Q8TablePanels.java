package io.ternion.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Packed weights whose kernel meets Q8_0 activations through lookup tables built per vector and
 * chunk of K ({@link BinaryPanels} for Q1_0, {@link TwoBitPanels} for Q2_0): the shape both lay
 * out (panels of 64 rows, K in chunks, a stripe of panels per thread of the pool that packed them)
 * and what {@link Q8TableKernel} needs to quantize, build the tables and hand stripes to the threads.
 */
abstract class Q8TablePanels {
    /** Rows of a panel: the lanes of two short vectors. */
    static final int ROWS = 64;

    final int k, n, chunks, panels, stripes, stripeWidth;
    final MemorySegment data;

    /** An n × k matrix in chunks of {@code chunk} columns, {@code blockBytes} per chunk and panel, striped for {@code threads}. */
    Q8TablePanels(int k, int n, int chunk, int threads, int blockBytes) {
        this.k = k;
        this.n = n;
        chunks = k / chunk;
        panels = (n + ROWS - 1) / ROWS;
        stripeWidth = (panels + threads - 1) / threads;
        stripes = (panels + stripeWidth - 1) / stripeWidth;
        data = Arena.ofAuto().allocate((long) chunks * panels * blockBytes, 64);
    }

    long bytes() { return data.byteSize(); }

    /** Shorts of tables per activation vector. */
    abstract int tablesPerVector();

    /** Vector {@code q} (Q8_0 codes from qOff, k of them) as this layout's tables, into out from outOff. */
    void tables(short[] q, int qOff, short[] out, int outOff) {
        tables(q, qOff, 0, k, out, outOff);
    }

    /**
     * The tables of activations [from, to) of vector {@code q} (a multiple of 16 apart), where the
     * whole vector's tables start at out[outOff]: each step's tables depend only on its own activations.
     */
    abstract void tables(short[] q, int qOff, int from, int to, short[] out, int outOff);

    /** Panels [from, to) against every vector's tables, into fsum (vector b's row r at b·(to − from)·64 + r − from·64). */
    abstract void dot(int from, int to, short[] tab, int batch, float[] d, float[] fsum);
}
