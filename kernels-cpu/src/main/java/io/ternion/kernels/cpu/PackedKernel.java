package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;

/**
 * The kernels of a weight format that runs from a copy of the weights repacked once into a layout
 * of its own (kept in memory; the file stays as it is), with the activations quantized as the
 * format's reference engine does. {@link MatMul} packs through {@link MatMul#prepare}, quantizes
 * each batch of activation rows once per call with {@link #quantize}, then runs {@link #dot} over
 * the packed matrix's work units on every thread; a row's result depends only on its row and its
 * activations, never on how the units were split.
 *
 * @param <P> the packed weights
 * @param <A> quantized activations of a batch, in whatever form suits the kernel
 */
abstract class PackedKernel<P, A> {

    abstract GgmlType type();

    /**
     * The repacked copy of {@code w} (its bytes are read once, on the pool's threads), laid out for
     * the pool's number of threads: the same pool (or one as large) should run its matmuls.
     */
    abstract P pack(Tensor w, WorkerPool pool);

    /** Bytes the packed copy holds. */
    abstract long bytes(P packed);

    /** Independent units of work (stripes of panels of rows, at most one per thread of the packing pool) the threads split. */
    abstract int units(P packed);

    /**
     * Quantizes {@code batch} activation rows from {@code x[xOff]}, each as long as a weight row; work
     * per row may go to the pool's threads (a prompt's batch), the result does not depend on it.
     */
    abstract A quantize(P packed, float[] x, int xOff, int batch, WorkerPool pool);

    /** Units {@code [from, to)} for every row b of {@code act}: row r of vector b into {@code y[yOff + b·n + r]}. */
    abstract void dot(P packed, int from, int to, A act, float[] y, int yOff);
}
