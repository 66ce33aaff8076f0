package io.ternion.kernels.gpu;

import static io.ternion.kernels.gpu.OpenCl.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One OpenCL device as {@code ternion devices} lists it. {@code index} is its place in the list
 * of all platforms' devices, which is what {@code --device N} means.
 */
public record ClDevice(int index, String platform, String name, String vendor, String type, String version, String driver,
                       long globalMemory, long maxAllocation, long localMemory, int computeUnits, long maxWorkGroupSize,
                       boolean fp16, boolean subgroups, boolean available, boolean compilerAvailable,
                       MemorySegment platformId, MemorySegment id) {

    public boolean isGpu() { return type.equals("GPU"); }

    /** Lanes a work-group should be a multiple of: NVIDIA warps of 32, AMD wavefronts of 64, else 16. */
    public int preferredLanes() {
        String v = vendor.toLowerCase(Locale.ROOT);
        if (v.contains("nvidia")) return 32;
        if (v.contains("advanced micro devices") || v.contains("amd")) return isGpu() ? 64 : 16;
        return 16;
    }

    /** Every device of every platform, in a stable order. An ICD loader with no platform gives an empty list. */
    public static List<ClDevice> list() {
        OpenCl cl = OpenCl.get();
        List<ClDevice> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment count = a.allocate(JAVA_INT);
            int status = invoke(cl, count);
            if (status == -1001) return out; // CL_PLATFORM_NOT_FOUND_KHR: a loader with no ICDs installed
            check(status, "clGetPlatformIDs");
            int np = count.get(JAVA_INT, 0);
            if (np == 0) return out;
            MemorySegment platforms = a.allocate(ADDRESS, np);
            call("clGetPlatformIDs", cl.getPlatformIDs, np, platforms, MemorySegment.NULL);
            for (int p = 0; p < np; p++) {
                MemorySegment pid = platforms.getAtIndex(ADDRESS, p);
                String pname = platformString(cl, pid, PLATFORM_NAME);
                MemorySegment dc = a.allocate(JAVA_INT);
                int st;
                try {
                    st = (int) cl.getDeviceIDs.invokeExact(pid, DEVICE_TYPE_ALL, 0, MemorySegment.NULL, dc);
                } catch (Throwable t) {
                    throw new OpenClException("clGetDeviceIDs failed: " + t);
                }
                if (st == -1) continue; // CL_DEVICE_NOT_FOUND: a platform without devices
                check(st, "clGetDeviceIDs");
                int nd = dc.get(JAVA_INT, 0);
                MemorySegment ids = a.allocate(ADDRESS, nd);
                call("clGetDeviceIDs", cl.getDeviceIDs, pid, DEVICE_TYPE_ALL, nd, ids, MemorySegment.NULL);
                for (int d = 0; d < nd; d++) out.add(describe(cl, out.size(), pname, pid, ids.getAtIndex(ADDRESS, d)));
            }
        }
        return out;
    }

    private static int invoke(OpenCl cl, MemorySegment count) {
        try {
            return (int) cl.getPlatformIDs.invokeExact(0, MemorySegment.NULL, count);
        } catch (Throwable t) {
            throw new OpenClException("clGetPlatformIDs failed: " + t);
        }
    }

    private static ClDevice describe(OpenCl cl, int index, String platform, MemorySegment pid, MemorySegment id) {
        long type = deviceLong(cl, id, DEVICE_TYPE);
        String ext = deviceString(cl, id, DEVICE_EXTENSIONS);
        String typeName = (type & DEVICE_TYPE_GPU) != 0 ? "GPU" : (type & DEVICE_TYPE_CPU) != 0 ? "CPU"
                : (type & DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other";
        return new ClDevice(index, platform, deviceString(cl, id, DEVICE_NAME).strip(), deviceString(cl, id, DEVICE_VENDOR).strip(),
                typeName, deviceString(cl, id, DEVICE_VERSION).strip(), deviceString(cl, id, DRIVER_VERSION).strip(),
                deviceLong(cl, id, DEVICE_GLOBAL_MEM_SIZE), deviceLong(cl, id, DEVICE_MAX_MEM_ALLOC_SIZE),
                deviceLong(cl, id, DEVICE_LOCAL_MEM_SIZE), deviceInt(cl, id, DEVICE_MAX_COMPUTE_UNITS),
                deviceLong(cl, id, DEVICE_MAX_WORK_GROUP_SIZE), ext.contains("cl_khr_fp16"),
                ext.contains("cl_khr_subgroups") || ext.contains("cl_intel_subgroups"),
                deviceInt(cl, id, DEVICE_AVAILABLE) != 0, deviceInt(cl, id, DEVICE_COMPILER_AVAILABLE) != 0, pid, id);
    }

    private static String platformString(OpenCl cl, MemorySegment pid, int param) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            call("clGetPlatformInfo", cl.getPlatformInfo, pid, param, 0L, MemorySegment.NULL, size);
            MemorySegment buf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
            call("clGetPlatformInfo", cl.getPlatformInfo, pid, param, buf.byteSize(), buf, MemorySegment.NULL);
            return buf.getString(0).strip();
        }
    }

    private static String deviceString(OpenCl cl, MemorySegment id, int param) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(JAVA_LONG);
            call("clGetDeviceInfo", cl.getDeviceInfo, id, param, 0L, MemorySegment.NULL, size);
            MemorySegment buf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
            call("clGetDeviceInfo", cl.getDeviceInfo, id, param, buf.byteSize(), buf, MemorySegment.NULL);
            return buf.getString(0);
        }
    }

    /** cl_ulong and size_t values (8 bytes); cl_bitfield too. */
    private static long deviceLong(OpenCl cl, MemorySegment id, int param) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            call("clGetDeviceInfo", cl.getDeviceInfo, id, param, 8L, v, MemorySegment.NULL);
            return v.get(JAVA_LONG, 0);
        }
    }

    /** cl_uint and cl_bool values (4 bytes). */
    private static int deviceInt(OpenCl cl, MemorySegment id, int param) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_INT);
            call("clGetDeviceInfo", cl.getDeviceInfo, id, param, 4L, v, MemorySegment.NULL);
            return v.get(JAVA_INT, 0);
        }
    }

    /** One line for logs: index, name, type and memory. */
    public String summary() {
        return String.format(Locale.ROOT, "#%d %s (%s, %s, %.1f GiB)", index, name, platform, type, globalMemory / 1073741824.0);
    }
}
