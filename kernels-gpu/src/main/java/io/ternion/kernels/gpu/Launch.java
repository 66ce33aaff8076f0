package io.ternion.kernels.gpu;

/**
 * A kernel with its arguments bound, and how its range grows with the batch: the unit a backend
 * records once and replays per forward call. Dimension {@code batchDim} of the global range is
 * {@code perToken} × n for a batch of n tokens (−1: the range does not depend on n). A matmul also
 * has a tiled kernel for batches of more than one token, whose range is ⌈n / tile⌉ in dimension 1.
 */
public final class Launch {
    private final ClKernel kernel, tiled;
    private final int batchDim, tile;
    private final long perToken;
    private int lastN = -1, lastTiles = -1;

    Launch(ClKernel kernel, long[] global, long[] local, int batchDim) {
        this(kernel, null, 0, global, local, batchDim);
    }

    /** A matmul: {@code kernel} for one token, {@code tiled} for more (same arguments plus the step buffer). */
    Launch(ClKernel kernel, ClKernel tiled, int tile, long[] global, long[] local, int batchDim) {
        this.kernel = kernel;
        this.tiled = tiled;
        this.tile = tile;
        this.batchDim = batchDim;
        this.perToken = batchDim >= 0 ? global[batchDim] : 0;
        kernel.range(global, local);
        if (tiled != null) tiled.range(global, local);
        if (batchDim < 0) lastN = 1;
    }

    public String name() { return kernel.name(); }

    /** Enqueues the kernel for a batch of {@code n} tokens. */
    public void run(int n) {
        run(n, null);
    }

    /** As {@link #run(int)}, timing it into {@code profile} when one is given. */
    public void run(int n, KernelProfile profile) {
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
            kernel.globalSize(batchDim, perToken * n);
            lastN = n;
        }
        kernel.launch(profile);
    }
}
