package io.ternion.kernels.cpu;

import java.lang.foreign.MemorySegment;

/**
 * A {@link RowKernel} for weight formats whose reference engines quantize the activations too
 * (I2_S, TQ2_0, TQ1_0, Q1_0): the dot product is an exact integer sum over quantized activations,
 * scaled in float. {@link MatMul} quantizes each activation row once per call with
 * {@link #quantize}, then runs {@link #dot(MemorySegment, int, int, int, Object, int, float[], int)}
 * over the weight rows on every thread; quantizing per row range would redo the same work on each
 * thread, and could only differ from it by a bug.
 *
 * @param <A> the quantized activations of a batch, in whatever layout suits the kernel
 */
abstract class ActivationKernel<A> implements RowKernel {

    /** Quantizes {@code batch} rows of {@code k} floats from {@code x[xOff]}. */
    abstract A quantize(float[] x, int xOff, int k, int batch);

    /** {@code y[yOff + r]} = row r of W times activation row {@code b} of {@code act}, for from ≤ r &lt; to. */
    abstract void dot(MemorySegment w, int k, int from, int to, A act, int b, float[] y, int yOff);

    @Override
    public final void dot(MemorySegment w, int k, int from, int to, float[] x, int xOff, float[] y, int yOff) {
        dot(w, k, from, to, quantize(x, xOff, k, 1), 0, y, yOff);
    }

    /** The weights as floats: the gguf codec's scalar decoder (only getRow and tests use this). */
    @Override
    public void decode(MemorySegment w, int k, int from, int to, float[] out, int outOff) {
        type().dequantize(w, (long) from * k, out, outOff, (to - from) * k);
    }
}
