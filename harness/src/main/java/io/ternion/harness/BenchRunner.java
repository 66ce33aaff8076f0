package io.ternion.harness;

import io.ternion.engine.Model;
import io.ternion.graph.Batch;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.KvTypes;
import io.ternion.kernels.cpu.WorkerPool;
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
import java.util.function.IntConsumer;

/**
 * llama-bench's two tests on every backend × thread count: pp (a prompt of N tokens, one batch from
 * an empty cache) and tg (N tokens one at a time from an empty cache), each warmed up and then run
 * {@code repetitions} times. With {@code --parallel}, tg is run instead with S sequences at once
 * for each S listed, as llama-batched-bench does: each sequence's KV slot holds a prompt of its own,
 * then each step decodes one token of every sequence, so one pass over the weights serves S tokens.
 * With {@code -d}, each pp and tg test runs once per depth after that many tokens were put in the
 * cache (untimed), as llama-bench's {@code -d}. With {@code --peer}, each timed run is preceded by one
 * run of every peer's llama-bench on the same test (same file, threads and depth), so both are timed
 * within seconds of each other under the same load. Right before each timed run the read-bandwidth probe is measured with
 * the same number of threads, so that every run has a denominator taken under the same load: on a
 * shared machine the load changes within seconds, and a probe taken once per benchmark was seen to
 * be 4× off from the runs it was meant to scale.
 */
public final class BenchRunner {
    private BenchRunner() {}

    /**
     * @param device   the GPU device index for GPU backends, -1 to let the backend pick
     * @param parallel sequence counts of the parallel tg tests; empty for the one-sequence tg test
     * @param depths   tokens in the cache before the pp and tg tests, each a set of tests ([0]: from an empty cache)
     * @param peers    llama-bench binaries to run beside each test; empty for none
     */
    public record Settings(Path model, int promptTokens, int genTokens, int repetitions, List<Integer> threads,
                           List<String> backends, int device, List<Integer> parallel, List<Integer> depths, List<Path> peers, KvTypes kv) {
        public Settings {
            parallel = List.copyOf(parallel);
            depths = List.copyOf(depths);
            peers = List.copyOf(peers);
        }

        /** Settings without depths or peers: tests from an empty cache, Ternion alone, an F16 KV cache. */
        public Settings(Path model, int promptTokens, int genTokens, int repetitions, List<Integer> threads, List<String> backends,
                        int device, List<Integer> parallel) {
            this(model, promptTokens, genTokens, repetitions, threads, backends, device, parallel, List.of(0), List.of(), KvTypes.F16);
        }

        /** Settings with an F16 KV cache. */
        public Settings(Path model, int promptTokens, int genTokens, int repetitions, List<Integer> threads, List<String> backends,
                        int device, List<Integer> parallel, List<Integer> depths, List<Path> peers) {
            this(model, promptTokens, genTokens, repetitions, threads, backends, device, parallel, depths, peers, KvTypes.F16);
        }

        int maxDepth() { return depths.stream().mapToInt(Integer::intValue).max().orElse(0); }

        /** Sequences the model is loaded for: the most any test runs. */
        int slots() { return parallel.stream().mapToInt(Integer::intValue).max().orElse(1); }
    }

    /** Untimed probe passes per thread count (page mapping, the pool's threads, the JIT). */
    private static final int PROBE_WARMUPS = 3;
    /** Probe passes before each timed run, of which the median counts: about 0.15 s at 20 GB/s. */
    private static final int PROBE_PASSES = 3;
    /** How long each test is run untimed before it is measured. */
    private static final long WARMUP_NANOS = 1_000_000_000L;

    /**
     * Runs every test and returns the report. A backend that cannot be created or loaded (unknown, no
     * device, a weight type it has no kernel for) is reported as skipped, and {@code progress} says
     * why; if no backend can run at all, that is an IllegalArgumentException with the reasons.
     */
    public static BenchReport run(Settings s, Consumer<String> progress) throws IOException {
        ModelInfo info = ModelInfo.read(s.model());
        Peers peers = new Peers(s.peers(), s.model(), s.kv(), progress); // a missing binary fails here, before anything runs
        BackendCheck.Availability backends = BackendCheck.check(s.backends(), s.threads().getFirst(), s.device(), progress);
        List<BenchReport.Result> results = new ArrayList<>();
        Map<String, String> devices = new LinkedHashMap<>();
        Map<String, Skipped> skipped = new LinkedHashMap<>();
        for (Skipped k : backends.skipped()) skipped.put(k.backend(), k);
        // Each sequence's slot holds its prompt and what it decodes (the one-sequence tests start each from position 0).
        int context = s.parallel().isEmpty() ? s.maxDepth() + Math.max(s.promptTokens(), s.genTokens()) : s.promptTokens() + s.genTokens();
        // A depth is filled in batches as a prompt is, even when the test itself is tg only.
        int batch = Math.max(1, Math.max(Math.max(s.promptTokens(), s.slots()), Math.min(s.maxDepth(), DEPTH_BATCH)));
        List<Machine.Bandwidth> bandwidth = new ArrayList<>();
        try (ReadBandwidth probe = new ReadBandwidth()) {
            for (int threads : s.threads()) {
                List<Double> probes = new ArrayList<>();
                try (WorkerPool pool = new WorkerPool(threads)) {
                    probe.measure(pool, PROBE_WARMUPS, 1); // a warm-up: its figure is not used
                    Probe p = () -> {
                        double bw = probe.measure(pool, 0, PROBE_PASSES);
                        probes.add(bw);
                        return bw;
                    };
                    for (String backend : backends.available()) {
                        if (skipped.containsKey(backend)) continue; // it failed at another thread count: it will again
                        Model m;
                        try {
                            m = Model.load(s.model(), new Model.Options(backend, threads, s.slots() * context, batch, s.device())
                                    .withParallel(s.slots()).withKvTypes(s.kv()));
                        } catch (RuntimeException e) {
                            skipped.put(backend, new Skipped(backend, String.valueOf(e.getMessage())));
                            progress.accept("skipping backend " + backend + ": " + e.getMessage());
                            continue;
                        }
                        try (m) {
                            devices.putIfAbsent(m.backendName(), s.kv().isF16() ? m.backendDevice()
                                    : m.backendDevice() + "; KV cache " + s.kv() + ", " + m.kvBytesPerToken() + " bytes per token");
                            measure(m, s, info, threads, p, peers, r -> {
                                results.add(r);
                                progress.accept(String.format(Locale.ROOT, "%s, %d thread%s, %s: %.2f ± %.2f tok/s (probe %s)%s", backend,
                                        threads, threads == 1 ? "" : "s", r.test(), r.tokensPerSecondMean(), r.tokensPerSecondStddev(),
                                        Units.gbps(r.probeBytesPerSecond()), Peers.describe(r)));
                            });
                        }
                    }
                }
                if (!probes.isEmpty()) bandwidth.add(new Machine.Bandwidth(threads, median(probes)));
            }
        }
        if (results.isEmpty()) {
            throw new IllegalArgumentException("no backend could run: " + BackendCheck.describe(List.copyOf(skipped.values())));
        }
        return new BenchReport(BenchReport.SCHEMA, info, Machine.detect(bandwidth, devices),
                new BenchReport.Settings(s.promptTokens(), s.genTokens(), s.repetitions(), s.parallel().isEmpty() ? null : s.parallel(),
                        s.depths()), results, List.copyOf(skipped.values()), null, peers.report());
    }

    /** Measures the read bandwidth now, in bytes/s. */
    @FunctionalInterface
    interface Probe {
        double measure();
    }

    /** Tokens per forward step while a depth is filled: llama-bench's default micro-batch. */
    private static final int DEPTH_BATCH = 512;

    /** Runs each test on {@code m} and hands each result to {@code out} as soon as it is measured. */
    private static void measure(Model m, Settings s, ModelInfo info, int threads, Probe probe, Peers peers,
                                Consumer<BenchReport.Result> out) {
        CompiledModel cm = m.compiled();
        // Token ids do not change the work; fixed random ones keep runs alike.
        int vocab = m.config().vocabSize();
        int[] tokens = new SplittableRandom(1).ints(Math.max(s.promptTokens(), s.genTokens()), 0, vocab).toArray();
        float[] logits = new float[s.slots() * vocab];
        boolean onHost = m.deviceBytes() == 0;
        for (int depth : s.depths()) {
            String at = depth == 0 ? "" : " @ d" + depth;
            fillDepth(cm, depth, vocab, logits);
            if (s.promptTokens() > 0) {
                int[] prompt = Arrays.copyOf(tokens, s.promptTokens());
                Peers.Test peer = peers.test(threads, prompt.length, 0, depth);
                Runs runs = repeat(s.repetitions(), () -> cm.forward(prompt, depth, logits), prompt.length, probe, peer::runOnce);
                out.accept(result(m, info, threads, "pp" + prompt.length + at, prompt.length, runs, onHost, null, depth, peer));
            }
            for (int sequences : s.genTokens() > 0 ? s.parallel() : List.<Integer>of()) {
                out.accept(parallel(m, s, info, threads, probe, sequences, tokens, logits, onHost));
            }
            if (s.genTokens() > 0 && s.parallel().isEmpty()) {
                int n = s.genTokens();
                int[] one = new int[1];
                Peers.Test peer = peers.test(threads, 0, n, depth);
                Runs runs = repeat(s.repetitions(), () -> {
                    for (int i = 0; i < n; i++) {
                        one[0] = tokens[i];
                        cm.forward(one, depth + i, logits);
                    }
                }, n, probe, peer::runOnce);
                out.accept(result(m, info, threads, "tg" + n + at, n, runs, onHost, Decode.ONE, depth, peer));
            }
        }
    }

    /**
     * Puts {@code depth} random tokens in slot 0's positions 0..depth−1, untimed. The tests then write
     * from position {@code depth} on, so every run of them finds the same prefix: a run overwrites only
     * its own positions, and attention reads no position past the one it is at.
     */
    private static void fillDepth(CompiledModel cm, int depth, int vocab, float[] logits) {
        int[] ids = new SplittableRandom(2).ints(depth, 0, vocab).toArray();
        for (int from = 0; from < depth; from += cm.maxBatch()) {
            cm.forward(Arrays.copyOfRange(ids, from, Math.min(depth, from + cm.maxBatch())), from, logits);
        }
    }

    /**
     * tg with {@code sequences} at once: slots 0..S−1 each read the same {@code -p} prompt first
     * (untimed), then every step decodes one token of each at the same position, all logits wanted,
     * as the engine's scheduler runs them (less its sampling). Runs overwrite the same positions.
     */
    private static BenchReport.Result parallel(Model m, Settings s, ModelInfo info, int threads, Probe probe, int sequences,
                                               int[] tokens, float[] logits, boolean onHost) {
        CompiledModel cm = m.compiled();
        int p = s.promptTokens(), n = s.genTokens();
        if (p > 0) {
            for (int slot = 0; slot < sequences; slot++) cm.forward(Batch.sequence(Arrays.copyOf(tokens, p), 0, slot), logits);
        }
        int[] slots = new int[sequences], positions = new int[sequences], ids = new int[sequences];
        boolean[] all = new boolean[sequences];
        for (int i = 0; i < sequences; i++) {
            slots[i] = i;
            all[i] = true;
        }
        Runs runs = repeat(s.repetitions(), () -> {
            for (int step = 0; step < n; step++) {
                Arrays.fill(positions, p + step);
                Arrays.fill(ids, tokens[step]);
                cm.forward(new Batch(ids, positions, slots, all), logits);
            }
        }, sequences * n, probe, rep -> {});
        return result(m, info, threads, "tg" + n + " np" + sequences, sequences * n, runs, onHost, new Decode(sequences, sequences), 0,
                Peers.NONE);
    }

    /** A decode test: tokens per pass over the weights, and the sequences of a parallel test (null for tg). */
    private record Decode(int tokensPerStep, Integer sequences) {
        static final Decode ONE = new Decode(1, null);
    }

    /** Tokens/s of each timed run, and the probe's bytes/s taken just before it. */
    record Runs(List<Double> tokensPerSecond, List<Double> probeBytesPerSecond) {}

    /**
     * Untimed runs until {@link #WARMUP_NANOS} have passed (at least one: on a large model that is
     * it; a small one runs dozens of times before the JIT has compiled it), then {@code repetitions}
     * timed ones, each after {@code before} (the peers' run of the same test) and a probe.
     */
    static Runs repeat(int repetitions, Runnable run, int tokens, Probe probe, IntConsumer before) {
        long start = System.nanoTime();
        do run.run(); while (System.nanoTime() - start < WARMUP_NANOS);
        List<Double> tps = new ArrayList<>(), bw = new ArrayList<>();
        for (int i = 0; i < repetitions; i++) {
            before.accept(i);
            bw.add(probe.measure());
            long t0 = System.nanoTime();
            run.run();
            tps.add(tokens / ((System.nanoTime() - t0) / 1e9));
        }
        return new Runs(List.copyOf(tps), List.copyOf(bw));
    }

    /**
     * The figures divided by the probe are medians over the runs of each run's own ratio, so that
     * neither a run nor a probe caught by a burst of load moves them.
     */
    private static BenchReport.Result result(Model m, ModelInfo info, int threads, String test, int tokens, Runs runs,
                                             boolean onHost, Decode decode, int depth, Peers.Test peers) {
        Stats st = Stats.of(runs.tokensPerSecond());
        List<Double> perGbps = new ArrayList<>();
        for (int i = 0; i < runs.tokensPerSecond().size(); i++) {
            perGbps.add(runs.tokensPerSecond().get(i) / (runs.probeBytesPerSecond().get(i) / 1e9));
        }
        Double relative = onHost ? median(perGbps) : null;
        Double roofline = onHost && decode != null ? relative / decode.tokensPerStep() * info.weightBytesPerToken() / 1e9 : null;
        return new BenchReport.Result(m.backendName(), m.backendDevice(), threads, test, tokens, st.mean(), st.stddev(),
                runs.tokensPerSecond(), median(runs.probeBytesPerSecond()), relative, roofline, decode == null ? null : decode.sequences(),
                depth, peers.results(median(runs.tokensPerSecond())));
    }

    static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = a.length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }
}
