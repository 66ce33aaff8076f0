package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.TwoBitPanels.ROWS;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;

/**
 * Q2_0 weights (PrismML Ternary Bonsai), in upstream's blocks of 64 or the PrismML fork's of 128:
 * {@code fp16 d, uint8 qs[qk / 4]}, code c at bits 2·(j % 4) of qs[j / 4] meaning (c − 1)·d. Each
 * block meets two or four Q8_0 activation blocks, as in {@code ggml_vec_dot_q2_0_q8_0}; run from
 * {@link TwoBitPanels}. One instance per block size, as each is a type of its own.
 */
final class Q2_0MatMul extends PackedKernel<TwoBitPanels, TableActivations> {
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

    @Override long bytes(TwoBitPanels p) { return p.bytes(); }

    @Override int units(TwoBitPanels p) { return p.stripes; }

    @Override
    TableActivations quantize(TwoBitPanels p, float[] x, int xOff, int batch, WorkerPool pool) {
        int k = p.k, per = p.chunks * p.chunkTables;
        Q8_0Activations a = Q8_0Activations.quantize(x, xOff, k, batch);
        TableActivations act = TableActivations.of(batch, batch * per);
        act.d = a.d;
        WorkerPool.RangeTask tables = (from, to) -> {
            for (int b = from; b < to; b++) TwoBitPanels.tables(a.q, b * k, k, act.tables, b * per);
        };
        pool.parallelFor(batch, tables); // inline for one row
        return act;
    }

    @Override
    void dot(TwoBitPanels p, int from, int to, TableActivations act, float[] y, int yOff) {
        from *= p.stripeWidth;
        to = Math.min(p.panels, to * p.stripeWidth);
        int span = (to - from) * ROWS, r0 = from * ROWS, r1 = Math.min(p.n, to * ROWS);
        float[] fsum = TableActivations.floatSums(act.batch * span);
        p.dot(from, to, act.tables, act.batch, act.d, fsum);
        for (int b = 0; b < act.batch; b++) System.arraycopy(fsum, b * span, y, yOff + b * p.n + r0, r1 - r0);
    }
}
