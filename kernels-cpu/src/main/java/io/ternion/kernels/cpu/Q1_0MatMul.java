package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.BinaryPanels.CHUNK_TABLES;
import static io.ternion.kernels.cpu.BinaryPanels.ROWS;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;

/**
 * Q1_0 weights (PrismML Bonsai, group 128): blocks as {@code fp16 d, uint8 qs[16]}, bit j % 8 of
 * qs[j / 8] set for +d and clear for −d. Each block meets four Q8_0 activation blocks, as in
 * {@code ggml_vec_dot_q1_0_q8_0}; run from {@link BinaryPanels}.
 */
final class Q1_0MatMul extends PackedKernel<BinaryPanels, TableActivations> {

    Q1_0MatMul() { super(BinaryPanels.class); }

    @Override GgmlType type() { return GgmlType.Q1_0; }

    @Override
    BinaryPanels pack(Tensor w, WorkerPool pool) {
        return BinaryPanels.pack(w.data(), Math.toIntExact(w.rowLength()), Math.toIntExact(w.rows()), pool);
    }

    @Override long bytes(BinaryPanels p) { return p.bytes(); }

    @Override int units(BinaryPanels p) { return p.stripes; }

    @Override
    TableActivations quantize(BinaryPanels p, float[] x, int xOff, int batch, WorkerPool pool) {
        int k = p.k, per = p.chunks * CHUNK_TABLES;
        Q8_0Activations a = Q8_0Activations.quantize(x, xOff, k, batch);
        TableActivations act = TableActivations.of(batch, batch * per);
        act.d = a.d;
        WorkerPool.RangeTask tables = (from, to) -> {
            for (int b = from; b < to; b++) BinaryPanels.tables(a.q, b * k, k, act.tables, b * per);
        };
        pool.parallelFor(batch, tables); // inline for one row
        return act;
    }

    @Override
    void dot(BinaryPanels p, int from, int to, TableActivations act, float[] y, int yOff) {
        from *= p.stripeWidth;
        to = Math.min(p.panels, to * p.stripeWidth);
        int span = (to - from) * ROWS, r0 = from * ROWS, r1 = Math.min(p.n, to * ROWS);
        float[] fsum = TableActivations.floatSums(act.batch * span);
        p.dot(from, to, act.tables, act.batch, act.d, fsum);
        for (int b = 0; b < act.batch; b++) System.arraycopy(fsum, b * span, y, yOff + b * p.n + r0, r1 - r0);
    }
}
