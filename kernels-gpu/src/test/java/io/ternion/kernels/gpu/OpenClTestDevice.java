package io.ternion.kernels.gpu;

import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The OpenCL device tests run on: the first one listed (PoCL's CPU device in CI). Without OpenCL,
 * tests skip with the reason, except under CI=true, where CI installs PoCL and a missing device is a
 * failure.
 */
public final class OpenClTestDevice {
    private OpenClTestDevice() {}

    public static ClDevice require() {
        String why;
        try {
            List<ClDevice> all = ClDevice.list();
            if (!all.isEmpty()) return all.getFirst();
            why = "no OpenCL device (install pocl-opencl-icd)";
        } catch (OpenClException e) {
            why = e.getMessage() + " (install ocl-icd-libopencl1 pocl-opencl-icd)";
        }
        if ("true".equals(System.getenv("CI"))) throw new AssertionError("CI=true but " + why);
        Assumptions.abort(why);
        throw new AssertionError("unreachable");
    }
}
