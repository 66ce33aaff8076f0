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
    /** P's class: what lets a group of matrices be checked to be this kernel's without an unchecked cast. */
    private final Class<P> packedType;

    PackedKernel(Class<P> packedType) { this.packedType = packedType; }

    abstract GgmlType type();

    /** {@code w} packed ({@link #pack}) and bound to this kernel: what a {@link Weights} holds. */
    final Packed<P, A> prepare(Tensor w, WorkerPool pool) {
        return new Packed<>(this, pack(w, pool));
    }

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

    /**
     * A packed copy with the kernel that packed it, so that P and A are named once (a wildcard
     * {@code Packed<?, ?>} is captured by a generic method) and the copy only ever meets its own
     * kernel's activations.
     */
    record Packed<P, A>(PackedKernel<P, A> kernel, P data) {
        long bytes() { return kernel.bytes(data); }

        int units() { return kernel.units(data); }

        A quantize(float[] x, int xOff, int batch, WorkerPool pool) { return kernel.quantize(data, x, xOff, batch, pool); }

        void dot(int from, int to, A act, float[] y, int yOff) { kernel.dot(data, from, to, act, y, yOff); }

        /**
         * {@code other} as a matrix of this kernel, which then takes this one's activations; the
         * kernel is one object per format, so the same kernel means the same P and A, and P is
         * checked by its class.
         *
         * @throws IllegalArgumentException if another kernel packed {@code other}
         */
        Packed<P, A> same(Packed<?, ?> other) {
            if (other.kernel != kernel) throw new IllegalArgumentException(other.kernel.type() + " weights in a group of " + kernel.type());
            return new Packed<>(kernel, kernel.packedType.cast(other.data));
        }
    }
}
