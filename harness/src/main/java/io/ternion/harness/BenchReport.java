package io.ternion.harness;

import java.util.List;

/**
 * The result of {@code ternion bench}, and (saved as JSON) a baseline for the regression check.
 * The README documents the JSON form; {@link #SCHEMA} changes when a field changes meaning or goes.
 */
public record BenchReport(String schema, ModelInfo model, Machine machine, Settings settings, List<Result> results,
                          List<Skipped> skipped, RegressionCheck regressionCheck) {
    public static final String SCHEMA = "ternion-bench/1";

    public record Settings(int promptTokens, int genTokens, int repetitions) {}

    /**
     * One test (pp{@code N}: a prompt of N tokens in one batch; tg{@code N}: N tokens one at a time)
     * on one backend at one thread count.
     *
     * @param probeBytesPerSecond the median of the read-bandwidth probes taken, with as many threads,
     *                            right before each timed run
     * @param relativeSpeed       tokens/s per GB/s of probe: the median over the runs of each run's
     *                            tokens/s ÷ its probe; null for a backend that runs on a device (the
     *                            probe measures host memory)
     * @param rooflineFraction    tg only: relativeSpeed × weight bytes per token ÷ 10⁹, i.e. weight bytes
     *                            per token × tokens/s ÷ probe bytes/s, the share of the host's read
     *                            bandwidth a decode step uses; null otherwise
     */
    public record Result(String backend, String device, int threads, String test, int tokens, double tokensPerSecondMean,
                         double tokensPerSecondStddev, List<Double> tokensPerSecondSamples, double probeBytesPerSecond,
                         Double relativeSpeed, Double rooflineFraction) {

        /** What the regression check compares (and matches baseline results by). */
        public String key() { return backend + " t" + threads + " " + test; }
    }

    public BenchReport withRegressionCheck(RegressionCheck check) {
        return new BenchReport(schema, model, machine, settings, results, skipped, check);
    }
}
