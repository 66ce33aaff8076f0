package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.Q8TablePanels.ROWS;

/**
 * The part of the Q1_0 and Q2_0 kernels that does not depend on the weights' layout: Q8_0
 * activations (as the PrismML fork's {@code ggml_vec_dot_q1_0_q8_0} and {@code ggml_vec_dot_q2_0_q8_0}
 * use), their tables per vector, and the stripes' sums copied to the output rows.
 */
abstract class Q8TableKernel<P extends Q8TablePanels> extends PackedKernel<P, TableActivations> {
    Q8TableKernel(Class<P> packedClass) {
        super(packedClass);
    }

    @Override long bytes(P p) { return p.bytes(); }

    @Override int units(P p) { return p.stripes; }

    @Override
    TableActivations quantize(P p, float[] x, int xOff, int batch, WorkerPool pool) {
        if (batch == 1 && pool.threads() > 1) {
            // A decode step's vector: quantized and tabulated by the threads together, part by part.
            Q8_0Activations a = Q8_0Activations.unquantized(p.k, 1);
            short[] tables = TableActivations.splitTables(p.tablesPerVector());
            return TableActivations.split(p.k, a.q, a.d, tables, (from, to) -> {
                Q8_0Activations.quantize(x, xOff, a.q, a.d, from / Q8_0Activations.QK, to / Q8_0Activations.QK);
                p.tables(a.q, 0, from, to, tables, 0);
            });
        }
        Q8_0Activations a = Q8_0Activations.quantize(x, xOff, p.k, batch);
        return TableActivations.built(batch, p.k, a.q, a.d, p.tablesPerVector(), p::tables, pool);
    }

    @Override
    void dot(P p, int from, int to, TableActivations act, float[] y, int yOff) {
        from *= p.stripeWidth;
        to = Math.min(p.panels, to * p.stripeWidth);
        int n = p.n, span = (to - from) * ROWS, r0 = from * ROWS, r1 = Math.min(n, to * ROWS);
        float[] fsum = TableActivations.floatSums(act.batch * span);
        p.dot(from, to, act.tables(), act.batch, act.d, fsum);
        for (int b = 0; b < act.batch; b++) System.arraycopy(fsum, b * span, y, yOff + b * n + r0, r1 - r0);
    }
}
