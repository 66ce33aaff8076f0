package io.ternion.kernels.gpu;

import static io.ternion.kernels.gpu.OpenCl.call;
import static io.ternion.kernels.gpu.OpenCl.check;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

/**
 * One kernel object with its arguments bound once; {@link #launch} enqueues it again and again with
 * the same arguments, which is how a recorded forward pass is replayed per token.
 */
public final class ClKernel {
    private final ClContext ctx;
    private final MemorySegment handle;
    private final String name;
    private final MemorySegment global, local;
    private int dims;
    private boolean hasLocal;

    ClKernel(ClContext ctx, MemorySegment handle, String name) {
        this.ctx = ctx;
        this.handle = handle;
        this.name = name;
        this.global = ctx.arena.allocate(JAVA_LONG, 3);
        this.local = ctx.arena.allocate(JAVA_LONG, 3);
    }

    public String name() { return name; }

    public ClKernel arg(int index, ClBuffer b) {
        MemorySegment v = ctx.arena.allocate(ADDRESS);
        v.set(ADDRESS, 0, b.handle());
        return set(index, ADDRESS.byteSize(), v);
    }

    public ClKernel arg(int index, int value) {
        return set(index, 4, ctx.arena.allocateFrom(JAVA_INT, value));
    }

    public ClKernel arg(int index, long value) {
        return set(index, 8, ctx.arena.allocateFrom(JAVA_LONG, value));
    }

    public ClKernel arg(int index, float value) {
        return set(index, 4, ctx.arena.allocateFrom(JAVA_FLOAT, value));
    }

    /** A {@code local} memory argument of {@code bytes}. */
    public ClKernel localArg(int index, long bytes) {
        return set(index, bytes, MemorySegment.NULL);
    }

    private ClKernel set(int index, long size, MemorySegment value) {
        call("clSetKernelArg(" + name + ", " + index + ")", ctx.cl.setKernelArg, handle, index, size, value);
        return this;
    }

    /** Sets the NDRange: global sizes, and work-group sizes (or none to let the driver choose). */
    public ClKernel range(long[] globalSize, long[] localSize) {
        dims = globalSize.length;
        for (int i = 0; i < dims; i++) global.setAtIndex(JAVA_LONG, i, globalSize[i]);
        hasLocal = localSize != null;
        if (hasLocal) for (int i = 0; i < dims; i++) local.setAtIndex(JAVA_LONG, i, localSize[i]);
        return this;
    }

    /** Changes one global dimension (the batch size of a prompt step). */
    public void globalSize(int dim, long size) {
        global.setAtIndex(JAVA_LONG, dim, size);
    }

    /** Enqueues the kernel with its bound arguments and range. */
    public void launch() {
        launch(null);
    }

    /** As {@link #launch()}, timing it into {@code profile} when one is given. */
    public void launch(KernelProfile profile) {
        MemorySegment event = profile != null ? profile.slot(name) : MemorySegment.NULL;
        int status;
        try {
            status = (int) ctx.cl.enqueueNDRangeKernel.invokeExact(ctx.queue, handle, dims, MemorySegment.NULL, global,
                    (MemorySegment) (hasLocal ? local : MemorySegment.NULL), 0, MemorySegment.NULL, event);
        } catch (Throwable t) {
            throw new OpenClException("clEnqueueNDRangeKernel(" + name + ") failed: " + t);
        }
        check(status, "clEnqueueNDRangeKernel(" + name + ")");
        if (profile != null) profile.pending(event);
    }
}
