package io.ternion.kernels.gpu;

import static io.ternion.kernels.gpu.OpenCl.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A context and one in-order command queue on one device, owning every buffer, program and kernel
 * made through it: closing it releases them all. Not thread-safe (one model, one thread).
 */
public final class ClContext implements AutoCloseable {
    final OpenCl cl;
    private final ClDevice device;
    final MemorySegment context, queue;
    /** Argument values and launch sizes live as long as the context. */
    final Arena arena = Arena.ofShared();
    private final List<MemorySegment> buffers = new ArrayList<>(), kernels = new ArrayList<>(), programs = new ArrayList<>();
    private long allocated;

    private ClContext(OpenCl cl, ClDevice device, MemorySegment context, MemorySegment queue) {
        this.cl = cl;
        this.device = device;
        this.context = context;
        this.queue = queue;
    }

    public static ClContext create(ClDevice device) {
        OpenCl cl = OpenCl.get();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ids = a.allocate(ADDRESS);
            ids.set(ADDRESS, 0, device.id());
            MemorySegment ctx = OpenCl.create("clCreateContext", cl.createContext, a, MemorySegment.NULL, 1, ids, MemorySegment.NULL, MemorySegment.NULL);
            try {
                MemorySegment q = OpenCl.create("clCreateCommandQueue", cl.createCommandQueue, a, ctx, device.id(), QUEUE_PROFILING_ENABLE);
                return new ClContext(cl, device, ctx, q);
            } catch (RuntimeException e) {
                release("clReleaseContext", cl.releaseContext, ctx);
                throw e;
            }
        }
    }

    public ClDevice device() { return device; }

    /** Bytes of device buffers made so far. */
    public long allocatedBytes() { return allocated; }

    /** An uninitialised read-write buffer. */
    public ClBuffer buffer(long bytes) {
        return newBuffer(bytes, MEM_READ_WRITE, MemorySegment.NULL);
    }

    /** A read-only buffer holding a copy of {@code host} (a mapped tensor is copied straight from the file's pages). */
    public ClBuffer upload(MemorySegment host) {
        if (host.isNative()) return newBuffer(host.byteSize(), MEM_READ_ONLY | MEM_COPY_HOST_PTR, host);
        try (Arena a = Arena.ofConfined()) {
            return newBuffer(host.byteSize(), MEM_READ_ONLY | MEM_COPY_HOST_PTR, a.allocate(host.byteSize(), 64).copyFrom(host));
        }
    }

    /** A read-write buffer holding these floats. */
    public ClBuffer upload(float[] values) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate((long) values.length * 4, 64).copyFrom(MemorySegment.ofArray(values));
            return newBuffer(m.byteSize(), MEM_READ_WRITE | MEM_COPY_HOST_PTR, m);
        }
    }

    /** Reads {@code count} floats from the start of the buffer. */
    public float[] readFloats(ClBuffer src, int count) {
        float[] out = new float[count];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * count, 64);
            read(src, 0, m);
            MemorySegment.ofArray(out).copyFrom(m);
        }
        return out;
    }

    private ClBuffer newBuffer(long bytes, long flags, MemorySegment host) {
        if (bytes <= 0) throw new IllegalArgumentException("buffer of " + bytes + " bytes");
        if (bytes > device.maxAllocation()) {
            throw new OpenClException(String.format(java.util.Locale.ROOT, "a buffer of %d bytes is larger than %s allows in one allocation (%d bytes)",
                    bytes, device.name(), device.maxAllocation()), -61);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = OpenCl.create("clCreateBuffer", cl.createBuffer, a, context, flags, bytes, host);
            buffers.add(m);
            allocated += bytes;
            return new ClBuffer(m, bytes);
        }
    }

    /** Blocking copy of {@code src} into the buffer at {@code offset}. */
    public void write(ClBuffer dst, long offset, MemorySegment src) {
        if (!src.isNative()) {
            try (Arena a = Arena.ofConfined()) {
                write(dst, offset, a.allocate(src.byteSize(), 64).copyFrom(src));
                return;
            }
        }
        call("clEnqueueWriteBuffer", cl.enqueueWriteBuffer, queue, dst.handle(), 1, offset, src.byteSize(), src, 0, MemorySegment.NULL, MemorySegment.NULL);
    }

    /** Blocking copy from the buffer at {@code offset} into {@code dst} (waits for the kernels before it). */
    public void read(ClBuffer src, long offset, MemorySegment dst) {
        if (!dst.isNative()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment m = a.allocate(dst.byteSize(), 64);
                read(src, offset, m);
                dst.copyFrom(m);
                return;
            }
        }
        call("clEnqueueReadBuffer", cl.enqueueReadBuffer, queue, src.handle(), 1, offset, dst.byteSize(), dst, 0, MemorySegment.NULL, MemorySegment.NULL);
    }

    /** Compiles a program; a failure carries the compiler's log. */
    public ClProgram build(String source, String options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocateFrom(source);
            MemorySegment strings = a.allocate(ADDRESS);
            strings.set(ADDRESS, 0, src);
            MemorySegment prog = OpenCl.create("clCreateProgramWithSource", cl.createProgramWithSource, a, context, 1, strings, MemorySegment.NULL);
            programs.add(prog);
            MemorySegment ids = a.allocate(ADDRESS);
            ids.set(ADDRESS, 0, device.id());
            int status;
            try {
                status = (int) cl.buildProgram.invokeExact(prog, 1, ids, a.allocateFrom(options), MemorySegment.NULL, MemorySegment.NULL);
            } catch (Throwable t) {
                throw new OpenClException("clBuildProgram failed: " + t);
            }
            if (status != 0) {
                throw new OpenClException("clBuildProgram failed: " + errorName(status) + " (" + status + ") on " + device.name()
                        + "; build log:\n" + buildLog(prog).strip(), status);
            }
            return new ClProgram(this, prog);
        }
    }

    private String buildLog(MemorySegment prog) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            call("clGetProgramBuildInfo", cl.getProgramBuildInfo, prog, device.id(), PROGRAM_BUILD_LOG, 0L, MemorySegment.NULL, size);
            MemorySegment log = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
            call("clGetProgramBuildInfo", cl.getProgramBuildInfo, prog, device.id(), PROGRAM_BUILD_LOG, log.byteSize(), log, MemorySegment.NULL);
            return log.getString(0);
        }
    }

    MemorySegment newKernel(MemorySegment program, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = OpenCl.create("clCreateKernel(" + name + ")", cl.createKernel, a, program, a.allocateFrom(name));
            kernels.add(k);
            return k;
        }
    }

    /** Waits for everything queued; a kernel that failed on the device shows up here. */
    public void finish() {
        call("clFinish", cl.finish, queue);
    }

    @Override
    public void close() {
        try {
            finish();
        } catch (OpenClException ignored) {
            // Releasing is all that is left to do; the error was or will be reported by whoever queued the work.
        }
        for (MemorySegment k : kernels) release("clReleaseKernel", cl.releaseKernel, k);
        for (MemorySegment p : programs) release("clReleaseProgram", cl.releaseProgram, p);
        for (MemorySegment b : buffers) release("clReleaseMemObject", cl.releaseMemObject, b);
        kernels.clear();
        programs.clear();
        buffers.clear();
        release("clReleaseCommandQueue", cl.releaseCommandQueue, queue);
        release("clReleaseContext", cl.releaseContext, context);
        arena.close();
    }

    private static void release(String name, java.lang.invoke.MethodHandle h, MemorySegment handle) {
        call(name, h, handle);
    }
}
