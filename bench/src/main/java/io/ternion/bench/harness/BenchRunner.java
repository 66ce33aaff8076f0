package io.ternion.bench.harness;

import io.ternion.kernels.cpu.WorkerPool;
import io.ternion.model.CompiledModel;
import io.ternion.model.Model;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * llama-bench's two tests on every backend × thread count: pp (a prompt of N tokens, one batch from
 * an empty cache) and tg (N tokens one at a time from an empty cache), each warmed up and then run
 * {@code repetitions} times. Before each thread count's runs the read-bandwidth probe is
 * measured with that many threads, so every result has a denominator taken minutes, not days, away.
 */
public final class BenchRunner {
    private BenchRunner() {}

    /**
     * @param device the GPU device index for GPU backends, -1 to let the backend pick
     */
    public record Settings(Path model, int promptTokens, int genTokens, int repetitions, List<Integer> threads,
                           List<String> backends, int device) {}

    /** Probe passes: the first warm the pages and the pool, the median of the rest is reported. */
    private static final int PROBE_WARMUPS = 2, PROBE_PASSES = 5;
    /** How long each test is run untimed before it is measured. */
    private static final long WARMUP_NANOS = 1_000_000_000L;

    /**
     * Runs every test and returns the report. A backend that cannot be created or loaded (unknown, no
     * device, a weight type it has no kernel for) is reported as skipped, and {@code progress} says
     * why; if no backend can run at all, that is an IllegalArgumentException with the reasons.
     */
    public static BenchReport run(Settings s, Consumer<String> progress) throws IOException {
        ModelInfo info = ModelInfo.read(s.model());
        BackendCheck.Availability backends = BackendCheck.check(s.backends(), s.threads().getFirst(), s.device(), progress);
        List<BenchReport.Result> results = new ArrayList<>();
        List<Machine.Bandwidth> bandwidth = new ArrayList<>();
        Map<String, String> devices = new LinkedHashMap<>();
        Map<String, Skipped> skipped = new LinkedHashMap<>();
        for (Skipped k : backends.skipped()) skipped.put(k.backend(), k);
        int context = Math.max(s.promptTokens(), s.genTokens());
        try (ReadBandwidth probe = new ReadBandwidth()) {
            for (int threads : s.threads()) {
                double bytesPerSecond;
                try (WorkerPool pool = new WorkerPool(threads)) {
                    bytesPerSecond = probe.measure(pool, PROBE_WARMUPS, PROBE_PASSES);
                }
                bandwidth.add(new Machine.Bandwidth(threads, bytesPerSecond));
                progress.accept(String.format(Locale.ROOT, "bandwidth probe, %d thread%s: %s", threads, threads == 1 ? "" : "s",
                        Units.gbps(bytesPerSecond)));
                for (String backend : backends.available()) {
                    if (skipped.containsKey(backend)) continue; // it failed at another thread count: it will again
                    Model m;
                    try {
                        m = Model.load(s.model(), new Model.Options(backend, threads, context, Math.max(1, s.promptTokens()), s.device()));
                    } catch (RuntimeException e) {
                        skipped.put(backend, new Skipped(backend, String.valueOf(e.getMessage())));
                        progress.accept("skipping backend " + backend + ": " + e.getMessage());
                        continue;
                    }
                    try (m) {
                        devices.putIfAbsent(m.backendName(), m.backendDevice());
                        for (BenchReport.Result r : measure(m, s, info, threads, bytesPerSecond)) {
                            results.add(r);
                            progress.accept(String.format(Locale.ROOT, "%s, %d thread%s, %s: %.2f ± %.2f tok/s", backend, threads,
                                    threads == 1 ? "" : "s", r.test(), r.tokensPerSecondMean(), r.tokensPerSecondStddev()));
                        }
                    }
                }
            }
        }
        if (results.isEmpty()) {
            throw new IllegalArgumentException("no backend could run: " + BackendCheck.describe(List.copyOf(skipped.values())));
        }
        return new BenchReport(BenchReport.SCHEMA, info, Machine.detect(bandwidth, devices),
                new BenchReport.Settings(s.promptTokens(), s.genTokens(), s.repetitions()), results,
                List.copyOf(skipped.values()), null);
    }

    private static List<BenchReport.Result> measure(Model m, Settings s, ModelInfo info, int threads, double probe) {
        CompiledModel cm = m.compiled();
        // Token ids do not change the work; fixed random ones keep runs alike.
        int[] tokens = new SplittableRandom(1).ints(Math.max(s.promptTokens(), s.genTokens()), 0, m.config().vocabSize()).toArray();
        float[] logits = new float[m.config().vocabSize()];
        boolean onHost = m.deviceBytes() == 0;
        List<BenchReport.Result> out = new ArrayList<>();
        if (s.promptTokens() > 0) {
            int[] prompt = Arrays.copyOf(tokens, s.promptTokens());
            List<Double> samples = repeat(s.repetitions(), () -> cm.forward(prompt, 0, logits), prompt.length);
            out.add(result(m, info, threads, "pp" + prompt.length, prompt.length, samples, probe, onHost, false));
        }
        if (s.genTokens() > 0) {
            int n = s.genTokens();
            int[] one = new int[1];
            List<Double> samples = repeat(s.repetitions(), () -> {
                for (int pos = 0; pos < n; pos++) {
                    one[0] = tokens[pos];
                    cm.forward(one, pos, logits);
                }
            }, n);
            out.add(result(m, info, threads, "tg" + n, n, samples, probe, onHost, true));
        }
        return out;
    }

    /**
     * Untimed runs until {@link #WARMUP_NANOS} have passed (at least one: on a large model that is
     * it; a small one runs dozens of times before the JIT has compiled it), then {@code repetitions}
     * timed ones; tokens/s of each.
     */
    private static List<Double> repeat(int repetitions, Runnable run, int tokens) {
        long start = System.nanoTime();
        do run.run(); while (System.nanoTime() - start < WARMUP_NANOS);
        List<Double> samples = new ArrayList<>();
        for (int i = 0; i < repetitions; i++) {
            long t0 = System.nanoTime();
            run.run();
            samples.add(tokens / ((System.nanoTime() - t0) / 1e9));
        }
        return samples;
    }

    private static BenchReport.Result result(Model m, ModelInfo info, int threads, String test, int tokens, List<Double> samples,
                                             double probe, boolean onHost, boolean decode) {
        Stats st = Stats.of(samples);
        Double relative = onHost ? st.mean() / (probe / 1e9) : null;
        Double roofline = onHost && decode ? info.weightBytesPerToken() * st.mean() / probe : null;
        return new BenchReport.Result(m.backendName(), m.backendDevice(), threads, test, tokens, st.mean(), st.stddev(),
                List.copyOf(samples), probe, relative, roofline);
    }
}
