package io.ternion.harness;

import java.util.List;

/**
 * The result of {@code ternion bench}, and (saved as JSON) a baseline for the regression check.
 * The README documents the JSON form; {@link #SCHEMA} changes when a field changes meaning or goes.
 */
public record BenchReport(String schema, ModelInfo model, Machine machine, Settings settings, List<Result> results,
                          List<Skipped> skipped, RegressionCheck regressionCheck) {
    public static final String SCHEMA = "ternion-bench/1";

    /** @param parallel the sequence counts of the parallel decode tests ({@code --parallel}); null or empty when there were none */
    public record Settings(int promptTokens, int genTokens, int repetitions, List<Integer> parallel) {}

    /**
     * One test (pp{@code N}: a prompt of N tokens in one batch; tg{@code N}: N tokens one at a time;
     * tg{@code N} np{@code S}: S sequences each decoding N tokens at once, one token of each per
     * step, after a prompt of their own) on one backend at one thread count.
     *
     * @param tokensPerSecondMean all sequences' tokens together (aggregate), as are the samples
     * @param sequences           S of a parallel test (per-sequence speed: the aggregate ÷ S); null otherwise
     * @param probeBytesPerSecond the median of the read-bandwidth probes taken, with as many threads,
     *                            right before each timed run
     * @param relativeSpeed       tokens/s per GB/s of probe: the median over the runs of each run's
     *                            tokens/s ÷ its probe; null for a backend that runs on a device (the
     *                            probe measures host memory)
     * @param rooflineFraction    tg only: weight bytes per token × decode steps/s ÷ probe bytes/s (a
     *                            step is one token of each sequence), the share of the host's read
     *                            bandwidth the steps use; null otherwise
     */
    public record Result(String backend, String device, int threads, String test, int tokens, double tokensPerSecondMean,
                         double tokensPerSecondStddev, List<Double> tokensPerSecondSamples, double probeBytesPerSecond,
                         Double relativeSpeed, Double rooflineFraction, Integer sequences) {

        /** What the regression check compares (and matches baseline results by). */
        public String key() { return backend + " t" + threads + " " + test; }
    }

    public BenchReport withRegressionCheck(RegressionCheck check) {
        return new BenchReport(schema, model, machine, settings, results, skipped, check);
    }
}
