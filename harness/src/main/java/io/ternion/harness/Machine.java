package io.ternion.harness;

import io.ternion.graph.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import jdk.incubator.vector.FloatVector;

/**
 * What a benchmark ran on: the CPU, its cores and vector width, the JVM and OS, the read bandwidth
 * measured in the same run at each thread count, and each backend's device string (its
 * {@code Backend.device()}: the CPU and threads, or a GPU's name).
 */
public record Machine(String cpu, int cores, int vectorBits, String java, String os, List<Bandwidth> bandwidth,
                      Map<String, String> devices) {

    /** The probe's result at one thread count. */
    public record Bandwidth(int threads, double bytesPerSecond) {}

    static Machine detect(List<Bandwidth> bandwidth, Map<String, String> devices) {
        return new Machine(cpuModel(Path.of("/proc/cpuinfo")), Runtime.getRuntime().availableProcessors(),
                FloatVector.SPECIES_PREFERRED.vectorBitSize(), Runtime.version().toString(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                bandwidth, devices);
    }

    /** The first "model name" of a Linux /proc/cpuinfo (x86; "Model" on ARM), else the JVM's os.arch. */
    static String cpuModel(Path cpuinfo) {
        try {
            for (String line : Files.readAllLines(cpuinfo)) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String key = line.substring(0, colon).trim();
                if (key.equals("model name") || key.equals("Model")) return line.substring(colon + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: fall through to what the JVM knows
        }
        return System.getProperty("os.arch");
    }
}
