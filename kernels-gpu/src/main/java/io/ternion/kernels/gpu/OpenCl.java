package io.ternion.kernels.gpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Hand-written FFM bindings for the OpenCL 1.2 calls Ternion uses. Handles are opaque pointers
 * ({@link MemorySegment}s of size 0); size_t is 64-bit on every platform we run on. The library is
 * the ICD loader ({@code libOpenCL.so.1}, {@code OpenCL.dll}, Apple's framework), or the file the
 * {@code ternion.opencl.library} system property names (tests use a bad one to force the fallback).
 * Every call's status goes through {@link #check}, which names the call and the error.
 */
public final class OpenCl {
    // Enumerations from cl.h (OpenCL 1.2).
    static final long DEVICE_TYPE_CPU = 1 << 1, DEVICE_TYPE_GPU = 1 << 2, DEVICE_TYPE_ACCELERATOR = 1 << 3, DEVICE_TYPE_ALL = 0xFFFFFFFFL;
    static final int PLATFORM_VERSION = 0x0901, PLATFORM_NAME = 0x0902, PLATFORM_VENDOR = 0x0903;
    static final int DEVICE_TYPE = 0x1000, DEVICE_MAX_COMPUTE_UNITS = 0x1002, DEVICE_MAX_WORK_GROUP_SIZE = 0x1004,
            DEVICE_MAX_MEM_ALLOC_SIZE = 0x1010, DEVICE_GLOBAL_MEM_SIZE = 0x101F, DEVICE_LOCAL_MEM_SIZE = 0x1023,
            DEVICE_AVAILABLE = 0x1027, DEVICE_COMPILER_AVAILABLE = 0x1028, DEVICE_NAME = 0x102B, DEVICE_VENDOR = 0x102C,
            DRIVER_VERSION = 0x102D, DEVICE_VERSION = 0x102F, DEVICE_EXTENSIONS = 0x1030;
    static final int PROGRAM_BUILD_LOG = 0x1183;
    static final long MEM_READ_WRITE = 1, MEM_READ_ONLY = 1 << 2, MEM_COPY_HOST_PTR = 1 << 5;
    static final long QUEUE_PROFILING_ENABLE = 1 << 1;
    static final int PROFILING_COMMAND_START = 0x1282, PROFILING_COMMAND_END = 0x1283;

    private static final String LIBRARY_PROPERTY = "ternion.opencl.library";
    /** Loaded bindings by library name; a name that failed to load is tried again next time (it is cheap). */
    private static final java.util.Map<String, OpenCl> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    final MethodHandle getPlatformIDs, getPlatformInfo, getDeviceIDs, getDeviceInfo, createContext, createCommandQueue,
            createBuffer, enqueueWriteBuffer, enqueueReadBuffer, createProgramWithSource, buildProgram,
            getProgramBuildInfo, createKernel, setKernelArg, enqueueNDRangeKernel, finish,
            getEventProfilingInfo, releaseEvent, releaseMemObject, releaseKernel, releaseProgram,
            releaseCommandQueue, releaseContext;

    private OpenCl(SymbolLookup lib) {
        Linker l = Linker.nativeLinker();
        getPlatformIDs = h(l, lib, "clGetPlatformIDs", JAVA_INT, ADDRESS, ADDRESS);
        getPlatformInfo = h(l, lib, "clGetPlatformInfo", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        getDeviceIDs = h(l, lib, "clGetDeviceIDs", ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
        getDeviceInfo = h(l, lib, "clGetDeviceInfo", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        createContext = p(l, lib, "clCreateContext", ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        createCommandQueue = p(l, lib, "clCreateCommandQueue", ADDRESS, ADDRESS, JAVA_LONG, ADDRESS);
        createBuffer = p(l, lib, "clCreateBuffer", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS);
        enqueueWriteBuffer = h(l, lib, "clEnqueueWriteBuffer", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        enqueueReadBuffer = h(l, lib, "clEnqueueReadBuffer", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        createProgramWithSource = p(l, lib, "clCreateProgramWithSource", ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        buildProgram = h(l, lib, "clBuildProgram", ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS);
        getProgramBuildInfo = h(l, lib, "clGetProgramBuildInfo", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        createKernel = p(l, lib, "clCreateKernel", ADDRESS, ADDRESS, ADDRESS);
        setKernelArg = h(l, lib, "clSetKernelArg", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS);
        enqueueNDRangeKernel = h(l, lib, "clEnqueueNDRangeKernel", ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        finish = h(l, lib, "clFinish", ADDRESS);
        getEventProfilingInfo = h(l, lib, "clGetEventProfilingInfo", ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS);
        releaseEvent = h(l, lib, "clReleaseEvent", ADDRESS);
        releaseMemObject = h(l, lib, "clReleaseMemObject", ADDRESS);
        releaseKernel = h(l, lib, "clReleaseKernel", ADDRESS);
        releaseProgram = h(l, lib, "clReleaseProgram", ADDRESS);
        releaseCommandQueue = h(l, lib, "clReleaseCommandQueue", ADDRESS);
        releaseContext = h(l, lib, "clReleaseContext", ADDRESS);
    }

    /** The bindings of the library {@link #libraryName} names, loading it on first use. */
    public static OpenCl get() {
        String name = libraryName();
        OpenCl cl = LOADED.get(name);
        if (cl != null) return cl;
        try {
            return LOADED.computeIfAbsent(name, n -> new OpenCl(SymbolLookup.libraryLookup(n, Arena.global())));
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new OpenClException("no OpenCL library (" + name + " could not be loaded: " + e.getMessage() + ")");
        }
    }

    /** The library to load: the property's value, else the platform's ICD loader. */
    static String libraryName() {
        String p = System.getProperty(LIBRARY_PROPERTY);
        if (p != null && !p.isBlank()) return p;
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("mac")) return "/System/Library/Frameworks/OpenCL.framework/OpenCL";
        if (os.contains("win")) return "OpenCL.dll";
        return "libOpenCL.so.1";
    }

    private static MethodHandle h(Linker l, SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        return l.downcallHandle(find(lib, name), FunctionDescriptor.of(JAVA_INT, args));
    }

    private static MethodHandle p(Linker l, SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        return l.downcallHandle(find(lib, name), FunctionDescriptor.of(ADDRESS, args));
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("the library has no " + name));
    }

    /** Throws unless {@code status} is CL_SUCCESS. */
    static void check(int status, String call) {
        if (status != 0) throw new OpenClException(call + " failed: " + errorName(status) + " (" + status + ")", status);
    }

    /** Calls a handle that returns a status, checking it; wraps the Throwable that invokeExact declares. */
    static void call(String name, MethodHandle h, Object... args) {
        int status;
        try {
            status = (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new OpenClException(name + " failed: " + t);
        }
        check(status, name);
    }

    /** Calls a handle that returns an object and reports its status through a trailing {@code cl_int*}. */
    static MemorySegment create(String name, MethodHandle h, Arena arena, Object... args) {
        MemorySegment err = arena.allocate(JAVA_INT);
        Object[] all = java.util.Arrays.copyOf(args, args.length + 1);
        all[args.length] = err;
        MemorySegment result;
        try {
            result = (MemorySegment) h.invokeWithArguments(all);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new OpenClException(name + " failed: " + t);
        }
        check(err.get(JAVA_INT, 0), name);
        if (result.equals(MemorySegment.NULL)) throw new OpenClException(name + " returned no object");
        return result;
    }

    /** The CL_* name of an error code. */
    public static String errorName(int code) {
        return switch (code) {
            case 0 -> "CL_SUCCESS";
            case -1 -> "CL_DEVICE_NOT_FOUND";
            case -2 -> "CL_DEVICE_NOT_AVAILABLE";
            case -3 -> "CL_COMPILER_NOT_AVAILABLE";
            case -4 -> "CL_MEM_OBJECT_ALLOCATION_FAILURE";
            case -5 -> "CL_OUT_OF_RESOURCES";
            case -6 -> "CL_OUT_OF_HOST_MEMORY";
            case -7 -> "CL_PROFILING_INFO_NOT_AVAILABLE";
            case -8 -> "CL_MEM_COPY_OVERLAP";
            case -11 -> "CL_BUILD_PROGRAM_FAILURE";
            case -12 -> "CL_MAP_FAILURE";
            case -13 -> "CL_MISALIGNED_SUB_BUFFER_OFFSET";
            case -14 -> "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
            case -15 -> "CL_COMPILE_PROGRAM_FAILURE";
            case -16 -> "CL_LINKER_NOT_AVAILABLE";
            case -17 -> "CL_LINK_PROGRAM_FAILURE";
            case -30 -> "CL_INVALID_VALUE";
            case -31 -> "CL_INVALID_DEVICE_TYPE";
            case -32 -> "CL_INVALID_PLATFORM";
            case -33 -> "CL_INVALID_DEVICE";
            case -34 -> "CL_INVALID_CONTEXT";
            case -35 -> "CL_INVALID_QUEUE_PROPERTIES";
            case -36 -> "CL_INVALID_COMMAND_QUEUE";
            case -37 -> "CL_INVALID_HOST_PTR";
            case -38 -> "CL_INVALID_MEM_OBJECT";
            case -42 -> "CL_INVALID_BINARY";
            case -43 -> "CL_INVALID_BUILD_OPTIONS";
            case -44 -> "CL_INVALID_PROGRAM";
            case -45 -> "CL_INVALID_PROGRAM_EXECUTABLE";
            case -46 -> "CL_INVALID_KERNEL_NAME";
            case -47 -> "CL_INVALID_KERNEL_DEFINITION";
            case -48 -> "CL_INVALID_KERNEL";
            case -49 -> "CL_INVALID_ARG_INDEX";
            case -50 -> "CL_INVALID_ARG_VALUE";
            case -51 -> "CL_INVALID_ARG_SIZE";
            case -52 -> "CL_INVALID_KERNEL_ARGS";
            case -53 -> "CL_INVALID_WORK_DIMENSION";
            case -54 -> "CL_INVALID_WORK_GROUP_SIZE";
            case -55 -> "CL_INVALID_WORK_ITEM_SIZE";
            case -56 -> "CL_INVALID_GLOBAL_OFFSET";
            case -57 -> "CL_INVALID_EVENT_WAIT_LIST";
            case -58 -> "CL_INVALID_EVENT";
            case -59 -> "CL_INVALID_OPERATION";
            case -61 -> "CL_INVALID_BUFFER_SIZE";
            case -63 -> "CL_INVALID_GLOBAL_WORK_SIZE";
            case -64 -> "CL_INVALID_PROPERTY";
            case -1001 -> "CL_PLATFORM_NOT_FOUND_KHR";
            default -> "CL error";
        };
    }
}
