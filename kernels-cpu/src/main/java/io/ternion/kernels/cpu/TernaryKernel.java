package io.ternion.kernels.cpu;

import static io.ternion.kernels.cpu.TernaryPanels.CHUNK_TABLES;
import static io.ternion.kernels.cpu.TernaryPanels.ROWS;

import io.ternion.gguf.Tensor;
import java.util.Locale;

/**
 * The ternary formats on {@link TernaryPanels}. They differ only in where the codes lie in the file
 * ({@link #source}) and in their reference engine's activations and scales:
 * <ul>
 *   <li>I2_S (bitnet.cpp): per-row int8 absmax activations ({@link ActivationI8}), one weight scale
 *       for the tensor; {@code mul_mat} computes {@code (S − Σq) / act_scale · w_scale} in float from
 *       the integer {@code S = Σ c·q}. S and Σq are exact in float (|S| &lt; 2²⁴), so this is
 *       {@code (float) Σ(c − 1)·q / act_scale · w_scale} bit for bit, which is what is computed here.
 *   <li>TQ2_0, TQ1_0 (llama.cpp): Q8_K activations ({@link Q8KActivations}), an fp16 scale per
 *       256-block; {@code sumf += (float) sumi · (d_y · d_x)} block after block.
 * </ul>
 */
abstract class TernaryKernel extends PackedKernel<TernaryPanels, TableActivations> {

    TernaryKernel() { super(TernaryPanels.class); }

    /** Whether the format has a scale per row and 256-block (TQ) rather than one per tensor (I2_S). */
    abstract boolean scaled();

    /** A reader of the codes (and block scales) of {@code w} as its file lays them out, for one thread. */
    abstract TernaryPanels.Source source(Tensor w);

    /** The tensor-wide scale of an unscaled format. */
    float tensorScale(Tensor w) { return 1; }

    @Override
    TernaryPanels pack(Tensor w, WorkerPool pool) {
        return TernaryPanels.pack(Math.toIntExact(w.rowLength()), Math.toIntExact(w.rows()), scaled(), tensorScale(w), () -> source(w), pool);
    }

    @Override long bytes(TernaryPanels p) { return p.bytes(); }

    @Override int units(TernaryPanels p) { return p.stripes; }

    @Override
    TableActivations quantize(TernaryPanels p, float[] x, int xOff, int batch, WorkerPool pool) {
        int k = p.k, per = p.chunks * CHUNK_TABLES;
        TableActivations.Builder tables = (q, qOff, out, outOff) -> TernaryPanels.tables(q, qOff, k, out, outOff);
        if (scaled()) {
            Q8KActivations a = Q8KActivations.quantize(x, xOff, k, batch, null);
            return TableActivations.perThread(batch, k, a.q, a.d, per, tables, pool);
        }
        ActivationI8 a = ActivationI8.quantize(x, xOff, k, batch, null);
        return TableActivations.perThread(batch, k, a.q, a.scale, per, tables, pool);
    }

    @Override
    void dot(TernaryPanels p, int from, int to, TableActivations act, float[] y, int yOff) {
        from *= p.stripeWidth;
        to = Math.min(p.panels, to * p.stripeWidth);
        int span = (to - from) * ROWS, r0 = from * ROWS, r1 = Math.min(p.n, to * ROWS);
        int[] isum = scaled() ? null : TableActivations.intSums(act.batch * span);
        float[] fsum = scaled() ? TableActivations.floatSums(act.batch * span) : null;
        p.dot(from, to, act.tables(), act.batch, act.d, isum, fsum);
        for (int b = 0; b < act.batch; b++) {
            for (int r = r0; r < r1; r++) {
                int at = b * span + r - r0;
                y[yOff + b * p.n + r] = isum != null ? (float) isum[at] / act.d[b] * p.tensorScale : fsum[at];
            }
        }
    }

    /**
     * The error for a code 3 in row {@code row}, whose bytes in the file are {@code bytes}: blocks of
     * {@code blockBytes} bytes whose first {@code codeBytes} hold four 2-bit codes each. No quantizer
     * writes a 3, and the reference engines would read it as a weight of +2 (llama.cpp's
     * {@code (c − 1)·d}), which a base-3 triple index cannot hold: the tensor is rejected at packing,
     * naming the first such byte. Only called once a code 3 was seen, so the scan costs the kernel nothing.
     */
    static IllegalArgumentException code3(Tensor w, int row, byte[] bytes, int blockBytes, int codeBytes) {
        for (int i = 0; i < bytes.length; i++) {
            int q = bytes[i] & 0xFF;
            if (i % blockBytes < codeBytes && (q & q >>> 1 & 0x55) != 0) {
                return new IllegalArgumentException(String.format(Locale.ROOT,
                        "%s: byte 0x%02x at offset %d of its data (row %d, block %d) holds code 3, which is not a ternary weight"
                                + " (codes 0, 1, 2 are -1, 0, +1)",
                        w, q, (long) row * bytes.length + i, row, i / blockBytes));
            }
        }
        return new IllegalArgumentException(w + ": code 3 in row " + row + " is not a ternary weight");
    }
}
