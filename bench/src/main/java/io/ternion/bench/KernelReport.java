package io.ternion.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Runs the CPU kernel benchmarks together with {@link BandwidthProbe} in one JMH invocation, then
 * prints each kernel's rate beside its fraction of the probe at the same thread count, the faster of
 * its patterns, and, where a benchmark measures the probe before each of its iterations
 * ({@link MatVecBenchmark.Paired}), the median over the iterations of each one's rate over its own
 * probe: the figure that stays comparable on a noisy shared machine.
 * <pre>{@code java -cp bench/target/benchmarks.jar io.ternion.bench.KernelReport [JMH options]}</pre>
 * Any JMH option works ({@code -p type=I2_S,TQ2_0 -p threads=2}, {@code -f 1}, a benchmark regex);
 * without a regex it runs every kernel benchmark, and the probe always runs.
 */
public final class KernelReport {
    private KernelReport() {}

    private static final List<String> KERNELS = List.of("MatVecBenchmark", "MatMulBatchBenchmark", "AttentionBenchmark", "RmsNormBenchmark");
    /** The byte counters of the benchmarks (bytes read or moved per second); the other one is flops. */
    private static final List<String> BYTE_COUNTERS = List.of("weightBytes", "kvBytes", "bytes");

    public static void main(String[] args) throws Exception {
        CommandLineOptions cli = new CommandLineOptions(args);
        OptionsBuilder options = new OptionsBuilder();
        options.parent(cli);
        if (cli.getIncludes().isEmpty()) KERNELS.forEach(options::include);
        options.include(BandwidthProbe.class.getSimpleName());
        print(new Runner(options.build()).run());
    }

    /** The counter of {@link MatVecBenchmark.Paired}: the probe's bytes/s before each iteration. */
    private static final String PAIRED_PROBE = "probeBytesPerSecond";

    /** The median and range over the measured iterations of {@code counter}'s rate over that iteration's probe. */
    private static String paired(RunResult r, String counter) {
        List<Double> f = new ArrayList<>();
        for (BenchmarkResult b : r.getBenchmarkResults()) {
            for (IterationResult i : b.getIterationResults()) {
                Result rate = i.getSecondaryResults().get(counter), probe = i.getSecondaryResults().get(PAIRED_PROBE);
                if (rate != null && probe != null && probe.getScore() > 0) f.add(rate.getScore() / probe.getScore());
            }
        }
        if (f.isEmpty()) return "";
        Collections.sort(f);
        return String.format(Locale.ROOT, "%.0f%% (%.0f–%.0f%%)", 100 * f.get(f.size() / 2), 100 * f.get(0), 100 * f.get(f.size() - 1));
    }

    private static void print(Collection<RunResult> results) {
        Map<String, Double> probe = new HashMap<>(); // threads → bytes/s of the faster pattern
        for (RunResult r : results) {
            if (r.getParams().getBenchmark().endsWith(BandwidthProbe.class.getSimpleName() + ".sum")) {
                probe.merge(r.getParams().getParam("threads"), r.getSecondaryResults().get("bytes").getScore(), Math::max);
            }
        }
        System.out.println();
        System.out.println("| benchmark | parameters | counter | rate | ± | fraction of probe | paired (median, range) |");
        System.out.println("| --- | --- | --- | ---: | ---: | ---: | ---: |");
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
            List<String> params = new ArrayList<>();
            for (String k : r.getParams().getParamsKeys()) params.add(k + "=" + r.getParams().getParam(k));
            // A benchmark without a threads parameter (RMSNorm) runs on one thread.
            String threads = r.getParams().getParamsKeys().contains("threads") ? r.getParams().getParam("threads") : "1";
            for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
                if (e.getKey().equals(PAIRED_PROBE)) continue;
                Result c = e.getValue();
                boolean bytes = BYTE_COUNTERS.contains(e.getKey());
                Double bw = probe.get(threads);
                String fraction = bytes && bw != null ? String.format(Locale.ROOT, "%.0f%%", 100 * c.getScore() / bw) : "";
                String error = Double.isNaN(c.getScoreError()) ? "" : String.format(Locale.ROOT, "%.2f", c.getScoreError() / 1e9);
                System.out.printf(Locale.ROOT, "| %s | %s | %s | %.2f %s | %s | %s | %s |%n", name, String.join(" ", params), e.getKey(),
                        c.getScore() / 1e9, bytes ? "GB/s" : "GFLOP/s", error, fraction, bytes ? paired(r, e.getKey()) : "");
            }
        }
    }
}
