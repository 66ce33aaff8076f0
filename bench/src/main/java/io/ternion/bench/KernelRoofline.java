package io.ternion.bench;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.harness.ReadBandwidth;
import io.ternion.kernels.cpu.MatMul;
import io.ternion.kernels.cpu.Weights;
import io.ternion.kernels.cpu.WorkerPool;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;

/**
 * Decode matvecs against the read-bandwidth probe, alternated in one JVM: each round measures the
 * probe ({@link ReadBandwidth#measure}, its faster pattern) and then each type's matvec for a
 * second, and a type's fraction in that round is its rate over that round's probe. On a shared
 * host whose memory bandwidth moves by 1.5× from one second to the next, a JMH run of
 * {@link BandwidthProbe} and {@link MatVecBenchmark} (a JVM each, minutes apart) pairs a kernel with
 * a probe of another moment; here both see the same seconds, and the median over the rounds is the
 * figure to quote ({@link MatVecBenchmark.Paired} does the same within JMH).
 *
 * <pre>{@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp bench/target/benchmarks.jar io.ternion.bench.KernelRoofline Q1_0,Q2_0_128,TQ2_0 [KxN] [threads]}</pre>
 * {@code -Drounds=N} rounds (default 8), after one untimed round in which C2 compiles the kernels.
 * Weights as {@link MatVecBenchmark}'s (copies past the L3, bytes as it counts them).
 */
public final class KernelRoofline {
    private KernelRoofline() {}

    public static void main(String[] a) {
        if (a.length < 1) {
            System.err.println("usage: KernelRoofline TYPE[,TYPE...] [KxN (2560x6912)] [threads (2)]");
            System.exit(2);
        }
        String[] types = a[0].split(",");
        int[] kn = BenchWeights.shape(a.length > 1 ? a[1] : "2560x6912");
        int threads = a.length > 2 ? Integer.parseInt(a[2]) : 2, rounds = Integer.getInteger("rounds", 8);
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads); ReadBandwidth probe = new ReadBandwidth()) {
            Weights[][] weights = new Weights[types.length][];
            for (int t = 0; t < types.length; t++) {
                Tensor[] copies = BenchWeights.copies(arena, GgmlType.parse(types[t]), kn[0], kn[1], 42);
                weights[t] = new Weights[copies.length];
                for (int i = 0; i < copies.length; i++) weights[t][i] = MatMul.prepare(copies[i], pool);
            }
            float[] x = BenchWeights.activations(kn[0], 7), y = new float[kn[1]];
            for (Weights[] w : weights) rate(w, x, y, pool, 3_000_000_000L); // C2's compiles, untimed
            double[][] fractions = new double[types.length][rounds];
            for (int r = 0; r < rounds; r++) {
                double bw = probe.measure(pool, 1, 3);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d: probe %.1f GB/s", r + 1, bw / 1e9));
                for (int t = 0; t < types.length; t++) {
                    double rate = rate(weights[t], x, y, pool, 1_000_000_000L);
                    fractions[t][r] = rate / bw;
                    line.append(String.format(Locale.ROOT, ", %s %.1f (%.0f%%)", types[t], rate / 1e9, 100 * rate / bw));
                }
                System.out.println(line);
            }
            for (int t = 0; t < types.length; t++) {
                double[] f = fractions[t].clone();
                Arrays.sort(f);
                System.out.printf(Locale.ROOT, "%s %s, %d threads: median %.0f%% of the probe (range %.0f–%.0f%%, %d rounds)%n",
                        types[t], a.length > 1 ? a[1] : "2560x6912", threads, 100 * f[rounds / 2], 100 * f[0], 100 * f[rounds - 1], rounds);
            }
        }
    }

    /** Bytes per second of matvecs over the copies, one after another, for {@code nanos}. */
    private static double rate(Weights[] w, float[] x, float[] y, WorkerPool pool, long nanos) {
        long bytes = 0, start = System.nanoTime(), now = start;
        for (int next = 0; now - start < nanos; next = next + 1 == w.length ? 0 : next + 1) {
            MatMul.matmul(w[next], x, 0, 1, y, 0, pool);
            bytes += BenchWeights.streamedBytes(w[next]);
            now = System.nanoTime();
        }
        return bytes / ((now - start) / 1e9);
    }
}
