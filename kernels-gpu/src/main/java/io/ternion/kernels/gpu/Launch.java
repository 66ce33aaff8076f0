package io.ternion.kernels.gpu;

/**
 * A kernel with its arguments bound, and how its range grows with the batch: the unit a backend
 * records once and replays per forward call. Dimension {@code batchDim} of the global range is
 * {@code perRow} × the launch's {@link Rows} (−1: the range does not depend on the batch). A matmul
 * also has a tiled kernel for more than one row, whose range is ⌈rows / tile⌉ in dimension 1.
 */
public final class Launch {
    /**
     * Which of a step's row counts a launch covers: its tokens, or the rows whose logits come back
     * (the head's per-output buffers). The ordinal is where ternion.cl's step buffer holds the count
     * (STEP_TOKENS, STEP_OUTPUTS), which the tiled matmuls read.
     */
    public enum Rows { TOKENS, OUTPUTS }

    private final ClKernel kernel, tiled;
    private final int batchDim, tile;
    private final Rows rows;
    private final long perRow;
    private int lastN = -1, lastTiles = -1;

    Launch(ClKernel kernel, long[] global, long[] local, int batchDim, Rows rows) {
        this(kernel, null, 0, global, local, batchDim, rows);
    }

    /** A matmul: {@code kernel} for one row, {@code tiled} for more (same arguments plus the step buffer and where its row count is). */
    Launch(ClKernel kernel, ClKernel tiled, int tile, long[] global, long[] local, int batchDim, Rows rows) {
        this.kernel = kernel;
        this.tiled = tiled;
        this.tile = tile;
        this.batchDim = batchDim;
        this.rows = rows;
        this.perRow = batchDim >= 0 ? global[batchDim] : 0;
        kernel.range(global, local);
        if (tiled != null) tiled.range(global, local);
        if (batchDim < 0) lastN = 1;
    }

    public String name() { return kernel.name(); }

    /** Enqueues the kernel for a batch of {@code n} tokens that all want their logits. */
    public void run(int n) {
        run(n, n, null);
    }

    /**
     * Enqueues the kernel for a step of {@code tokens} tokens of which {@code outputs} want their
     * logits, timing it into {@code profile} when one is given. A launch with no rows to cover (the
     * head of a step that wants no logits) enqueues nothing: there is nothing to compute, and a zero
     * range is an OpenCL error.
     */
    public void run(int tokens, int outputs, KernelProfile profile) {
        int n = rows == Rows.OUTPUTS ? outputs : tokens;
        if (n == 0) return;
        if (tiled != null && n > 1) {
            int tiles = (n + tile - 1) / tile;
            if (tiles != lastTiles) {
                tiled.globalSize(1, tiles);
                lastTiles = tiles;
            }
            tiled.launch(profile);
            return;
        }
        if (batchDim >= 0 && n != lastN) {
            kernel.globalSize(batchDim, perRow * n);
            lastN = n;
        }
        kernel.launch(profile);
    }
}
