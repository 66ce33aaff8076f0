package io.ternion.engine;

import io.ternion.graph.Backend;
import io.ternion.graph.BackendUnavailableException;
import io.ternion.graph.DeviceInfo;
import io.ternion.graph.ReferenceBackend;
import io.ternion.kernels.cpu.CpuBackend;
import io.ternion.kernels.gpu.OpenClBackend;

/** Creates a backend by name: {@code auto} (an OpenCL GPU when usable, else the CPU), {@code opencl}, {@code cpu}, {@code reference}. */
public final class Backends {
    private Backends() {}

    /** Every OpenCL device and the one {@code auto} would pick; a {@link BackendUnavailableException} says why there are none. */
    public static DeviceInfo.Listing devices() {
        return OpenClBackend.list();
    }

    public static Backend create(String name, int threads) {
        return create(name, threads, -1);
    }

    /** @param device the OpenCL device index ({@code ternion devices}), -1 to let the backend pick */
    public static Backend create(String name, int threads, int device) {
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (name) {
            case "auto" -> new FallbackBackend(t, device);
            case "opencl" -> {
                try {
                    yield OpenClBackend.open(device, false);
                } catch (BackendUnavailableException e) {
                    throw new ModelException("--backend opencl: " + e.getMessage());
                }
            }
            case "cpu" -> new CpuBackend(t);
            case "reference" -> new ReferenceBackend();
            default -> throw new ModelException("unknown backend '" + name + "' (use auto, opencl, cpu or reference)");
        };
    }
}
