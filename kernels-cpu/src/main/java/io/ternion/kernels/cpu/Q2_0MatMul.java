package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;

/**
 * Q2_0 weights (PrismML Ternary Bonsai), in upstream's blocks of 64 or the PrismML fork's of 128:
 * {@code fp16 d, uint8 qs[qk / 4]}, code c at bits 2·(j % 4) of qs[j / 4] meaning (c − 1)·d. Each
 * block meets two or four Q8_0 activation blocks, as in {@code ggml_vec_dot_q2_0_q8_0}; run from
 * {@link TwoBitPanels}. One instance per block size, as each is a type of its own.
 */
final class Q2_0MatMul extends Q8TableKernel<TwoBitPanels> {
    private final GgmlType type;

    Q2_0MatMul(GgmlType type) {
        super(TwoBitPanels.class);
        if (type != GgmlType.Q2_0 && type != GgmlType.Q2_0_128) throw new IllegalArgumentException(type + " is not Q2_0");
        this.type = type;
    }

    @Override GgmlType type() { return type; }

    @Override
    TwoBitPanels pack(Tensor w, WorkerPool pool) {
        return TwoBitPanels.pack(w.data(), type.blockSize, Math.toIntExact(w.rowLength()), Math.toIntExact(w.rows()), pool);
    }
}
