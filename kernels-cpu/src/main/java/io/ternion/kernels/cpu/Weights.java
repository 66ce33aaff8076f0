package io.ternion.kernels.cpu;

import io.ternion.gguf.Tensor;

/**
 * A weight matrix made ready for {@link MatMul} by {@link MatMul#prepare}: for most formats the
 * tensor as it lies in the mapped file; for those whose kernel wants a layout of its own (the
 * ternary and binary formats), also a copy repacked once, which this object holds in memory.
 */
public final class Weights {
    private final Tensor tensor;
    /**
     * The kernel that reads the tensor's own bytes; null when it runs from a packed copy. Chosen
     * once: an F16 tensor with no ±∞ or NaN gets a faster kernel than one with them.
     */
    final RowKernel kernel;
    /** The packed copy and its kernel; null when the kernels read the tensor's own bytes. */
    final PackedKernel.Packed<?, ?> packed;

    Weights(Tensor tensor, RowKernel kernel, PackedKernel.Packed<?, ?> packed) {
        this.tensor = tensor;
        this.kernel = kernel;
        this.packed = packed;
    }

    public Tensor tensor() { return tensor; }

    /** Bytes held beside the mapped file: the repacked copy, if any. */
    public long residentBytes() {
        return packed == null ? 0 : packed.bytes();
    }

    @Override
    public String toString() {
        return tensor + (packed == null ? "" : ", repacked (" + residentBytes() + " bytes)");
    }
}
