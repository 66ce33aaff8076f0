package io.ternion.harness;

import java.util.List;

/**
 * The result of {@code ternion bench}, and (saved as JSON) a baseline for the regression check.
 * The README documents the JSON form; {@link #SCHEMA} changes when a field changes meaning or goes.
 */
public record BenchReport(String schema, ModelInfo model, Machine machine, Settings settings, List<Result> results,
                          List<Skipped> skipped, RegressionCheck regressionCheck, List<Peer> peers) {
    public static final String SCHEMA = "ternion-bench/1";

    /**
     * @param parallel the sequence counts of the parallel decode tests ({@code --parallel}); null or empty when there were none
     * @param depths   the {@code -d} list: tokens already in the cache before each pp and tg test ([0] without {@code -d})
     */
    public record Settings(int promptTokens, int genTokens, int repetitions, List<Integer> parallel, List<Integer> depths) {}

    /**
     * A llama-bench given with {@code --peer}, run beside every test.
     *
     * @param build     its {@code build_commit (build_number)} as it reports them; null if it never ran a test
     * @param modelType how it describes the model; null if it never ran a test
     * @param error     why it measured nothing at all (it refused the file, or the flags): its own message; null if it ran
     */
    public record Peer(String binary, String build, String modelType, String error) {}

    /**
     * A peer's runs of one test, each right before Ternion's run of the same test.
     *
     * @param ratio Ternion's median tokens/s ÷ the peer's median (above 1: Ternion is faster); null when
     *              the peer failed
     * @param error why the peer stopped on this test; null when it ran every repetition
     */
    public record PeerResult(String binary, Double tokensPerSecondMean, Double tokensPerSecondStddev, List<Double> tokensPerSecondSamples,
                             Double ratio, String error) {}

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
     * @param depth               tokens in the cache before the test ({@code -d}; the test's name then ends "@ d{@code depth}")
     * @param peers               each {@code --peer}'s runs of the same test, in the order given; empty without peers
     */
    public record Result(String backend, String device, int threads, String test, int tokens, double tokensPerSecondMean,
                         double tokensPerSecondStddev, List<Double> tokensPerSecondSamples, double probeBytesPerSecond,
                         Double relativeSpeed, Double rooflineFraction, Integer sequences, int depth, List<PeerResult> peers) {

        /** What the regression check compares (and matches baseline results by). */
        public String key() { return backend + " t" + threads + " " + test; }

        /** The runs of the peer at {@code binary} (as given to {@code --peer}); null if it was not run beside this one. */
        public PeerResult peer(String binary) {
            if (peers == null) return null;
            for (PeerResult p : peers) if (p.binary().equals(binary)) return p;
            return null;
        }
    }

    public BenchReport withRegressionCheck(RegressionCheck check) {
        return new BenchReport(schema, model, machine, settings, results, skipped, check, peers);
    }
}
