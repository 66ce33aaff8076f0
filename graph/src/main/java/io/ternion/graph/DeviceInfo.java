package io.ternion.graph;

/**
 * One OpenCL device, as {@code ternion devices} shows it; {@code index} is what {@code --device}
 * takes. {@code usable}: available and with a compiler, so the backend can build its kernels there.
 */
public record DeviceInfo(int index, String name, String vendor, String platform, String type, String version, String driver,
                         long globalMemory, long maxAllocation, int computeUnits, long maxWorkGroupSize, boolean fp16,
                         boolean subgroups, boolean usable) {

    /** Every device, and the index {@code auto} would pick (−1: none, so the CPU backend). */
    public record Listing(java.util.List<DeviceInfo> devices, int autoChoice) {}
}
