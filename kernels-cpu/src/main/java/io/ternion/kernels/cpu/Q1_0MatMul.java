package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;

/**
 * Q1_0 weights (PrismML Bonsai, group 128): blocks as {@code fp16 d, uint8 qs[16]}, bit j % 8 of
 * qs[j / 8] set for +d and clear for −d. Each block meets four Q8_0 activation blocks, as in
 * {@code ggml_vec_dot_q1_0_q8_0}; run from {@link BinaryPanels}.
 */
final class Q1_0MatMul extends Q8TableKernel<BinaryPanels> {

    Q1_0MatMul() { super(BinaryPanels.class); }

    @Override GgmlType type() { return GgmlType.Q1_0; }

    @Override
    BinaryPanels pack(Tensor w, WorkerPool pool) {
        return BinaryPanels.pack(w.data(), Math.toIntExact(w.rowLength()), Math.toIntExact(w.rows()), pool);
    }
}
