package io.ternion.kernels.gpu;

import io.ternion.graph.Batch;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The step buffer, the only data that goes up per forward call, as the top of ternion.cl lays it
 * out: ints {tokens, outputs}, then token, position and KV slot of each row, then the rows whose
 * logits come back. Only the ints a batch uses are written, so a decode step sends a few dozen bytes.
 */
final class StepLayout {
    private StepLayout() {}

    /** {tokens, outputs}, each count at its {@link Launch.Rows}' ordinal (the tiled matmuls read it there); then three ints per row. */
    private static final int HEADER = 2, PER_ROW = 3;

    /** Ints of a step of {@code tokens} tokens of which {@code outputs} want their logits. */
    static int ints(int tokens, int outputs) {
        return HEADER + PER_ROW * tokens + outputs;
    }

    /** Ints of the largest step: {@code maxBatch} tokens, every one an output. */
    static int capacity(int maxBatch) {
        return ints(maxBatch, maxBatch);
    }

    /** Writes {@code batch} at the start of {@code host}; returns the bytes written. */
    static long write(Batch batch, MemorySegment host) {
        int n = batch.size();
        int[] outputRows = batch.outputRows();
        host.setAtIndex(ValueLayout.JAVA_INT, Launch.Rows.TOKENS.ordinal(), n);
        host.setAtIndex(ValueLayout.JAVA_INT, Launch.Rows.OUTPUTS.ordinal(), outputRows.length);
        for (int b = 0; b < n; b++) {
            long at = HEADER + (long) PER_ROW * b;
            host.setAtIndex(ValueLayout.JAVA_INT, at, batch.tokens()[b]);
            host.setAtIndex(ValueLayout.JAVA_INT, at + 1, batch.positions()[b]);
            host.setAtIndex(ValueLayout.JAVA_INT, at + 2, batch.slots()[b]);
        }
        MemorySegment.copy(outputRows, 0, host, ValueLayout.JAVA_INT, 4L * (HEADER + (long) PER_ROW * n), outputRows.length);
        return 4L * ints(n, outputRows.length);
    }
}
