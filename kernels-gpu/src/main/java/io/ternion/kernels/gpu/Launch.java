package io.ternion.kernels.gpu;

/**
 * A kernel with its arguments bound, and how its range grows with the batch: the unit a backend
 * records once and replays per forward call. Dimension {@code batchDim} of the global range is
 * {@code perToken} × n for a batch of n tokens (−1: the range does not depend on n).
 */
public final class Launch {
    private final ClKernel kernel;
    private final int batchDim;
    private final long perToken;
    private int lastN = -1;

    Launch(ClKernel kernel, long[] global, long[] local, int batchDim) {
        this.kernel = kernel;
        this.batchDim = batchDim;
        this.perToken = batchDim >= 0 ? global[batchDim] : 0;
        kernel.range(global, local);
        if (batchDim < 0) lastN = 1;
    }

    public String name() { return kernel.name(); }

    /** Enqueues the kernel for a batch of {@code n} tokens. */
    public void run(int n) {
        run(n, null);
    }

    /** As {@link #run(int)}, timing it into {@code profile} when one is given. */
    public void run(int n, KernelProfile profile) {
        if (batchDim >= 0 && n != lastN) {
            kernel.globalSize(batchDim, perToken * n);
            lastN = n;
        }
        kernel.launch(profile);
    }
}
