package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * The matrix kernels of one weight type, over a tensor's bytes as they lie in the file: row r of a
 * matrix with rows of k elements starts at byte {@code r * type().rowBytes(k)}. A new weight format
 * is one implementation of this (or of {@link PackedKernel}, for a format that runs from a repacked
 * copy), one entry in {@link MatMul}'s registry and one row in the conformance table.
 *
 * <p>Each row's result must depend only on that row and x, not on the range it was computed in, so
 * that every thread count gives the same bits.
 */
public interface RowKernel {

    GgmlType type();

    /**
     * Decode (one vector): {@code y[yOff + r] = Σ_j W[r][j]·x[xOff + j]} for rows {@code from ≤ r < to}.
     * Reads the weights once, straight from {@code w}.
     */
    void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff);

    /**
     * Decodes rows {@code from ≤ r < to} to floats, row after row, into {@code out} from {@code outOff}.
     * The matrix-matrix path decodes a tile of rows once with this and reuses it for every vector.
     */
    void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff);
}
