package io.ternion.cli;

import com.fasterxml.jackson.core.JacksonException;
import io.ternion.gguf.InputFiles;
import io.ternion.harness.BenchReport;
import io.ternion.harness.BenchRunner;
import io.ternion.harness.Json;
import io.ternion.harness.Machine;
import io.ternion.harness.RegressionCheck;
import io.ternion.harness.Skipped;
import io.ternion.harness.Units;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ternion bench}: llama-bench's pp/tg table, a bandwidth probe beside it, and a regression check for CI. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prompt (pp) and generation (tg) speed against a read-bandwidth probe, llama-bench style.")
final class BenchCommand implements Callable<Integer> {
    enum Format { md, json, csv }

    /** 16M positions: past any model's context today. */
    static final int MAX_DEPTH = 1 << 24;

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "GGUF model (default: the bundled models/stories260K.gguf).")
    Path model;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", defaultValue = "128", description = "Prompt tokens of the pp test; 0 skips it (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", defaultValue = "128", description = "Tokens of the tg test; 0 skips it (default: ${DEFAULT-VALUE}).")
    int genTokens;

    @Option(names = {"-np", "--parallel"}, paramLabel = "N", split = ",",
            description = {"Sequences decoding at once, as llama-batched-bench: for each N listed, a tg test in which N sequences, each after its own -p-token prompt,"
                    + " decode -n tokens together, one token of each per pass over the weights. Reports all sequences' tokens/s and per sequence"
                    + " (that ÷ N). The model holds N KV slots of -p + -n positions each."})
    List<Integer> parallel;

    @Option(names = {"-d", "--n-depth"}, paramLabel = "N", split = ",",
            description = {"As llama-bench: for each N listed, the pp and tg tests run after a prompt of N tokens already in the cache"
                    + " (untimed); their names end \"@ dN\" (default: 0, an empty cache)."})
    List<Integer> depths;

    @Option(names = "--peer", paramLabel = "LLAMA_BENCH",
            description = {"A llama-bench binary you built (llama.cpp's, bitnet.cpp's, a fork's); repeatable. Before each timed run of a test"
                    + " it runs once on the same file and test (-p/-n/-t/-d, -ctk/-ctv, -r 1), so both are timed under the same load; each row gets"
                    + " its t/s and the ratio of medians (Ternion ÷ peer). A peer that refuses the file is reported with its message."})
    List<Path> peers;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "N", defaultValue = "3", description = "Timed runs of each test, after a warm-up of a second or more (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", split = ",", description = "Thread counts to run (default: all cores).")
    List<Integer> threads;

    @Option(names = {"--backend", "--backends"}, paramLabel = "NAME", split = ",", defaultValue = "cpu",
            description = "Backends to run: cpu, opencl, reference (default: ${DEFAULT-VALUE}).")
    List<String> backends;

    @Option(names = "--device", paramLabel = "N", defaultValue = "-1", description = "GPU device index for GPU backends; -1 picks the best (default: ${DEFAULT-VALUE}).")
    int device;

    @Option(names = {"-ctk", "--cache-type-k"}, paramLabel = "TYPE", defaultValue = "f16", description = "KV cache type of K: f16, q8_0, q4_0, turbo4, turbo3.")
    String cacheTypeK;

    @Option(names = {"-ctv", "--cache-type-v"}, paramLabel = "TYPE", defaultValue = "f16", description = "KV cache type of V, as -ctk.")
    String cacheTypeV;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "md", description = "md, json or csv (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--baseline", paramLabel = "FILE", description = "Compare with this saved bench JSON; exit " + Main.PERF_REGRESSION + " if a result regressed.")
    Path baseline;

    @Option(names = "--max-regression", paramLabel = "PERCENT", description = "With --baseline: the drop that counts as a regression (default: 10%%).")
    String maxRegression;

    @Option(names = "--save-baseline", paramLabel = "FILE", description = "Write this run's JSON report here, for a later --baseline.")
    Path saveBaseline;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        BenchRunner.Settings settings = settings();
        double max = maxRegression();
        BenchReport before = baseline != null ? readBaseline(baseline) : null; // a bad file fails now, not after the run
        if (saveBaseline != null) UserFiles.checkWritable(saveBaseline, "--save-baseline");

        BenchReport report = BenchRunner.run(settings, line -> {
            err.println("ternion: bench: " + line);
            err.flush();
        });
        RegressionCheck check = before != null ? RegressionCheck.of(report, before, baseline.toString(), max) : null;
        report = report.withRegressionCheck(check);

        switch (format) {
            case md -> printMarkdown(out, report);
            case json -> out.println(Json.MAPPER.writeValueAsString(report));
            case csv -> printCsv(out, report);
        }
        out.flush();
        if (saveBaseline != null) {
            Files.writeString(saveBaseline, Json.MAPPER.writeValueAsString(report) + "\n");
            err.println("ternion: bench: saved this run as a baseline in " + saveBaseline);
        }
        if (check == null) return 0;
        printRegressions(err, check);
        err.flush();
        return check.regressed() ? Main.PERF_REGRESSION : 0;
    }

    private BenchRunner.Settings settings() {
        if (promptTokens < 0 || genTokens < 0) throw new IllegalArgumentException("-p and -n must be >= 0");
        if (promptTokens == 0 && genTokens == 0) throw new IllegalArgumentException("-p and -n are both 0: nothing to measure");
        if (repetitions < 1) throw new IllegalArgumentException("-r must be >= 1, not " + repetitions);
        List<Integer> t = threads == null ? List.of(Runtime.getRuntime().availableProcessors()) : List.copyOf(new LinkedHashSet<>(threads));
        for (int n : t) if (n < 1) throw new IllegalArgumentException("-t must list thread counts >= 1, not " + n);
        List<Integer> np = parallel == null ? List.of() : List.copyOf(new LinkedHashSet<>(parallel));
        for (int n : np) if (n < 1 || n > 1024) throw new IllegalArgumentException("--parallel must list sequence counts from 1 to 1024, not " + n);
        if (!np.isEmpty() && genTokens == 0) throw new IllegalArgumentException("--parallel measures decoding: -n must be > 0");
        List<Integer> d = depths == null ? List.of(0) : List.copyOf(new LinkedHashSet<>(depths));
        // The cache holds depth + test positions: a bound keeps that an int and the error a sentence, not an allocation failure.
        for (int n : d) if (n < 0 || n > MAX_DEPTH) throw new IllegalArgumentException("-d must list depths from 0 to " + MAX_DEPTH + ", not " + n);
        if (!np.isEmpty() && !d.equals(List.of(0))) throw new IllegalArgumentException("-d applies to pp and tg, not to --parallel's tests");
        List<Path> p = peers == null ? List.of() : List.copyOf(new LinkedHashSet<>(peers));
        if (!np.isEmpty() && !p.isEmpty()) throw new IllegalArgumentException("--peer runs llama-bench, which has no --parallel test");
        return new BenchRunner.Settings(model != null ? model : Main.defaultModel(), promptTokens, genTokens, repetitions, t,
                List.copyOf(new LinkedHashSet<>(backends)), device, np, d, p, GenerationOptions.kvTypes(cacheTypeK, cacheTypeV));
    }

    /** "10%" or "10" → 0.10. */
    private double maxRegression() {
        if (maxRegression == null) return 0.10;
        if (baseline == null) throw new IllegalArgumentException("--max-regression needs --baseline");
        String s = maxRegression.strip();
        if (s.endsWith("%")) s = s.substring(0, s.length() - 1).strip();
        double pct;
        try {
            pct = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            pct = Double.NaN;
        }
        if (!(pct >= 0 && pct < 100)) {
            throw new IllegalArgumentException("--max-regression must be a percentage from 0 to 100, such as 10%, not '" + maxRegression + "'");
        }
        return pct / 100;
    }

    static BenchReport readBaseline(Path file) throws IOException {
        BenchReport b;
        try {
            b = Json.MAPPER.readValue(InputFiles.readAtMost(file, 64L << 20, "a bench baseline"), BenchReport.class);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("the baseline " + file + " is not a bench JSON report: " + e.getOriginalMessage());
        }
        if (b == null || !BenchReport.SCHEMA.equals(b.schema()) || b.model() == null || b.results() == null) {
            throw new IllegalArgumentException("the baseline " + file + " is not a " + BenchReport.SCHEMA + " report (save one with --save-baseline)");
        }
        return b;
    }

    // ---- output ----

    private static void printMarkdown(PrintWriter out, BenchReport r) {
        Machine m = r.machine();
        out.printf(Locale.ROOT, "- model: %s (%s, %s, %s read per token)%n", r.model().file(), r.model().describe(),
                Units.bytes(r.model().sizeBytes()), Units.bytes(r.model().weightBytesPerToken()));
        out.printf(Locale.ROOT, "- machine: %s, %d cores, %d-bit vectors; Java %s; %s%n", m.cpu(), m.cores(), m.vectorBits(), m.java(), m.os());
        List<String> probes = new ArrayList<>();
        for (Machine.Bandwidth b : m.bandwidth()) {
            probes.add(Units.gbps(b.bytesPerSecond()) + " (" + b.threads() + (b.threads() == 1 ? " thread)" : " threads)"));
        }
        out.println("- read bandwidth probe: " + String.join(", ", probes));
        m.devices().forEach((backend, dev) -> out.println("- " + backend + ": " + dev));
        for (Skipped s : r.skipped()) out.println("- skipped " + s.backend() + ": " + s.reason());
        List<BenchReport.Peer> peers = r.peers() == null ? List.of() : r.peers();
        for (int i = 0; i < peers.size(); i++) {
            BenchReport.Peer p = peers.get(i);
            out.println("- " + peerName(i, peers.size()) + ": " + p.binary() + (p.error() != null ? ", refused the run: " + p.error()
                    : ", build " + p.build() + (p.modelType() == null ? "" : ", model '" + p.modelType() + "'")));
        }
        out.println();
        boolean parallel = r.results().stream().anyMatch(x -> x.sequences() != null);
        List<String> columns = new ArrayList<>(List.of("model", "size>", "params>", "type", "backend", "threads>", "test", "t/s>"));
        if (parallel) columns.add("t/s per seq>");
        columns.add("roofline>");
        for (int i = 0; i < peers.size(); i++) {
            columns.add(peerName(i, peers.size()) + " t/s>");
            columns.add(peers.size() == 1 ? "ratio>" : "ratio " + (i + 1) + ">");
        }
        Table t = new Table(columns.toArray(String[]::new));
        List<String> failures = new ArrayList<>();
        for (BenchReport.Result x : r.results()) {
            List<Object> row = new ArrayList<>(List.of(r.model().architecture(), Units.bytes(r.model().sizeBytes()), Units.count(r.model().parameters()),
                    r.model().type(), x.backend(), x.threads(), x.test(),
                    String.format(Locale.ROOT, "%.2f ± %.2f", x.tokensPerSecondMean(), x.tokensPerSecondStddev())));
            if (parallel) row.add(x.sequences() == null ? "" : String.format(Locale.ROOT, "%.2f", x.tokensPerSecondMean() / x.sequences()));
            row.add(x.rooflineFraction() == null ? "" : String.format(Locale.ROOT, "%.0f%%", 100 * x.rooflineFraction()));
            for (int i = 0; i < peers.size(); i++) {
                BenchReport.PeerResult p = x.peer(peers.get(i).binary());
                if (p == null || p.ratio() == null) {
                    row.add("");
                    row.add(p == null || peers.get(i).error() != null ? "" : "failed");
                    if (p != null && p.error() != null && peers.get(i).error() == null) {
                        failures.add("- " + peerName(i, peers.size()) + " failed on " + x.test() + " (" + x.threads() + " threads): " + p.error());
                    }
                    continue;
                }
                row.add(String.format(Locale.ROOT, "%.2f ± %.2f", p.tokensPerSecondMean(), p.tokensPerSecondStddev()));
                row.add(String.format(Locale.ROOT, "%.2f×", p.ratio()));
            }
            t.row(row.toArray());
        }
        t.printMarkdown(out);
        if (!failures.isEmpty()) {
            out.println();
            failures.forEach(out::println);
        }
    }

    /** "peer" when there is one, else "peer 1", "peer 2", ... in the order of --peer. */
    private static String peerName(int index, int count) {
        return count == 1 ? "peer" : "peer " + (index + 1);
    }

    private static void printCsv(PrintWriter out, BenchReport r) {
        List<BenchReport.Peer> peers = r.peers() == null ? List.of() : r.peers();
        StringBuilder header = new StringBuilder("model,architecture,type,size_bytes,parameters,weight_bytes_per_token,backend,device,threads,test,"
                + "tokens,tokens_per_second_mean,tokens_per_second_stddev,probe_bytes_per_second,relative_speed,roofline_fraction,sequences,depth");
        for (int i = 1; i <= peers.size(); i++) {
            header.append(String.format(Locale.ROOT, ",peer%1$d,peer%1$d_tokens_per_second_mean,peer%1$d_tokens_per_second_stddev,peer%1$d_ratio,peer%1$d_error", i));
        }
        out.println(header);
        for (BenchReport.Result x : r.results()) {
            List<String> peerCells = new ArrayList<>();
            for (BenchReport.Peer peer : peers) {
                BenchReport.PeerResult p = x.peer(peer.binary());
                String error = p != null ? p.error() : peer.error();
                peerCells.addAll(List.of(csv(peer.binary()), number(p == null ? null : p.tokensPerSecondMean()),
                        number(p == null ? null : p.tokensPerSecondStddev()), number(p == null ? null : p.ratio()), csv(error)));
            }
            out.println(String.join(",", csv(r.model().file()), csv(r.model().architecture()), csv(r.model().type()),
                    Long.toString(r.model().sizeBytes()), Long.toString(r.model().parameters()), Long.toString(r.model().weightBytesPerToken()),
                    csv(x.backend()), csv(x.device()), Integer.toString(x.threads()), x.test(), Integer.toString(x.tokens()),
                    Double.toString(x.tokensPerSecondMean()), Double.toString(x.tokensPerSecondStddev()),
                    Double.toString(x.probeBytesPerSecond()), x.relativeSpeed() == null ? "" : Double.toString(x.relativeSpeed()),
                    x.rooflineFraction() == null ? "" : Double.toString(x.rooflineFraction()),
                    x.sequences() == null ? "" : Integer.toString(x.sequences()), Integer.toString(x.depth()))
                    + (peerCells.isEmpty() ? "" : "," + String.join(",", peerCells)));
        }
    }

    private static String number(Double v) {
        return v == null ? "" : Double.toString(v);
    }

    /** RFC 4180: quoted when it holds a comma, quote or line break, with quotes doubled. */
    static String csv(String s) {
        if (s == null) return "";
        return s.matches("(?s).*[\",\r\n].*") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    private static void printRegressions(PrintWriter err, RegressionCheck c) {
        long regressed = c.rows().stream().filter(x -> x.status() == RegressionCheck.Status.REGRESSED).count();
        err.printf(Locale.ROOT, "ternion: bench: against %s (a drop of more than %.0f%% fails): %s%n", c.baseline(), 100 * c.maxRegression(),
                regressed == 0 ? "no regression" : regressed + " regressed");
        Table t = new Table("backend", "threads>", "test", "figure", "baseline>", "now>", "change>", "status");
        for (RegressionCheck.Row x : c.rows()) {
            t.row(x.backend(), x.threads(), x.test(), x.peer() == null ? x.figure() : "ratio to " + x.peer(), figure(x.baseline()), figure(x.current()),
                    x.change() == null ? "" : String.format(Locale.ROOT, "%+.1f%%", 100 * x.change()), x.status().json());
        }
        t.printText(err);
    }

    private static String figure(Double v) {
        return v == null ? "" : String.format(Locale.ROOT, "%.4g", v);
    }
}
