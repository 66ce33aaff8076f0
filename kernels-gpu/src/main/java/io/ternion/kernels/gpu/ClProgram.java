package io.ternion.kernels.gpu;

import java.lang.foreign.MemorySegment;

/** A built program; each {@link #kernel} call makes a new kernel object with its own arguments. */
public final class ClProgram {
    private final ClContext ctx;
    private final MemorySegment handle;

    ClProgram(ClContext ctx, MemorySegment handle) {
        this.ctx = ctx;
        this.handle = handle;
    }

    public ClKernel kernel(String name) {
        return new ClKernel(ctx, ctx.newKernel(handle, name), name);
    }
}
