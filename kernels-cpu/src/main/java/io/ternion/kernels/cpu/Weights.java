package io.ternion.kernels.cpu;

import io.ternion.gguf.Tensor;

/**
 * A weight matrix made ready for {@link MatMul} by {@link MatMul#prepare}: for most formats the
 * tensor as it lies in the mapped file; for those whose kernel wants a layout of its own (the
 * ternary and binary formats), also a copy repacked once, which this object holds in memory.
 */
public final class Weights {
    private final Tensor tensor;
    /** The packing kernel and its packed copy; null when the kernels read the tensor's own bytes. */
    final PackedKernel<Object, Object> kernel;
    final Object packed;

    Weights(Tensor tensor, PackedKernel<Object, Object> kernel, Object packed) {
        this.tensor = tensor;
        this.kernel = kernel;
        this.packed = packed;
    }

    public Tensor tensor() { return tensor; }

    /** Bytes held beside the mapped file: the repacked copy, if any. */
    public long residentBytes() {
        return kernel == null ? 0 : kernel.bytes(packed);
    }

    @Override
    public String toString() {
        return tensor + (kernel == null ? "" : ", repacked (" + residentBytes() + " bytes)");
    }
}
