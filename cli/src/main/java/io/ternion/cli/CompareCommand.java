package io.ternion.cli;

import io.ternion.harness.Agreement;
import io.ternion.harness.ComparePlot;
import io.ternion.harness.CompareReport;
import io.ternion.harness.CompareRunner;
import io.ternion.harness.Json;
import io.ternion.harness.Skipped;
import io.ternion.harness.Units;
import java.awt.AWTError;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ternion compare}: the same tokens through every backend, measured against the FP16 reference. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Feed one token sequence through each backend and the FP16 reference: logit error, KL divergence, perplexity and speed.")
final class CompareCommand implements Callable<Integer> {
    enum Format { text, json, md }

    /** A prompt long enough for the prefill speed to mean something, in plain English every tokenizer knows. */
    static final String DEFAULT_PROMPT = "Once upon a time, in a small village at the edge of a great forest, there lived an old"
            + " clockmaker who repaired every clock in the valley. One morning a girl came to his door with a broken watch";

    @Option(names = {"-m", "--model"}, paramLabel = "FILE", description = "GGUF model (default: the bundled models/stories260K.gguf).")
    Path model;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "The prompt (default: a built-in paragraph).")
    String prompt;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the prompt from a UTF-8 file (- for standard input; at most 8 MiB).")
    Path promptFile;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "32",
            description = "Tokens the reference adds greedily after the prompt (default: ${DEFAULT-VALUE}).")
    int generate;

    @Option(names = {"--backend", "--backends"}, paramLabel = "NAME", split = ",", defaultValue = "cpu,opencl",
            description = "Backends to measure against the reference; one that is not available is skipped (default: ${DEFAULT-VALUE}).")
    List<String> backends;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", defaultValue = "0", description = "Threads; 0: all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--device", paramLabel = "N", defaultValue = "-1", description = "GPU device index for GPU backends; -1 picks the best (default: ${DEFAULT-VALUE}).")
    int device;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text", description = "text, json or md (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--plot", paramLabel = "FILE.png", description = "Also draw speed per backend and KL per position into this PNG.")
    Path plot;

    @Option(names = {"-ctk", "--cache-type-k"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache type of K for the backends compared (the reference keeps unrounded floats): f16, q8_0, q4_0, turbo4, turbo3.")
    String cacheTypeK;

    @Option(names = {"-ctv", "--cache-type-v"}, paramLabel = "TYPE", defaultValue = "f16", description = "KV cache type of V, as -ctk.")
    String cacheTypeV;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (prompt != null && promptFile != null) throw new IllegalArgumentException("give the prompt with -p or -f, not both");
        if (generate < 0) throw new IllegalArgumentException("-n must be >= 0, not " + generate);
        if (threads < 0) throw new IllegalArgumentException("-t must be >= 0, not " + threads);
        if (plot != null) UserFiles.checkWritable(plot, "--plot");
        String text = promptFile != null ? UserFiles.readUtf8(promptFile) : prompt != null ? prompt : DEFAULT_PROMPT;
        var settings = new CompareRunner.Settings(model != null ? model : Main.defaultModel(), text, generate,
                List.copyOf(new LinkedHashSet<>(backends)), threads, device, GenerationOptions.kvTypes(cacheTypeK, cacheTypeV));

        CompareReport report = CompareRunner.run(settings, line -> {
            err.println("ternion: compare: " + line);
            err.flush();
        });
        switch (format) {
            case text -> print(out, report, false);
            case md -> print(out, report, true);
            case json -> out.println(Json.MAPPER.writeValueAsString(report));
        }
        out.flush();
        if (plot != null) {
            try {
                ComparePlot.write(report, plot);
            } catch (AWTError | LinkageError e) {
                throw new IllegalStateException("cannot draw " + plot + ": " + e + " (Java's 2D graphics needs fontconfig and a font,"
                        + " e.g. the fonts-dejavu-core package)", e);
            }
            err.println("ternion: compare: plot written to " + plot);
        }
        return 0;
    }

    private static void print(PrintWriter out, CompareReport r, boolean markdown) {
        String item = markdown ? "- " : "";
        out.printf(Locale.ROOT, "%smodel: %s (%s)%n", item, r.model().file(), r.model().describe());
        out.printf(Locale.ROOT, "%ssequence: %d tokens, %d of prompt and %d chosen greedily by the reference%n", item,
                r.sequence().tokens().size(), r.sequence().promptTokens(), r.sequence().generatedTokens());
        out.printf(Locale.ROOT, "%sreference: %s%n", item, r.reference().device());
        for (CompareReport.Run x : r.backends()) out.printf(Locale.ROOT, "%s%s: %s%n", item, x.backend(), x.device());
        for (Skipped s : r.skipped()) out.printf(Locale.ROOT, "%sskipped %s: %s%n", item, s.backend(), s.reason());
        out.println();
        Table t = new Table("backend", "top-1>", "KL mean>", "KL max>", "NMSE>", "max |err|>", "perplexity>", "prefill t/s>",
                "decode t/s>", "load>", "host memory>", "device memory>");
        row(t, "reference (baseline)", r.reference());
        for (CompareReport.Run x : r.backends()) row(t, x.backend(), x);
        if (markdown) t.printMarkdown(out);
        else t.printText(out);
    }

    private static void row(Table t, String name, CompareReport.Run x) {
        Agreement a = x.agreement();
        t.row(name,
                a == null ? "" : String.format(Locale.ROOT, "%.1f%%", a.top1AgreementPercent()),
                a == null ? "" : String.format(Locale.ROOT, "%.3g", a.klMean()),
                a == null ? "" : String.format(Locale.ROOT, "%.3g", a.klMax()),
                a == null ? "" : String.format(Locale.ROOT, "%.3g", a.nmse()),
                a == null ? "" : String.format(Locale.ROOT, "%.4g", a.maxAbsError()),
                String.format(Locale.ROOT, "%.3f", x.perplexity()),
                String.format(Locale.ROOT, "%.1f", x.prefillTokensPerSecond()),
                String.format(Locale.ROOT, "%.1f", x.decodeTokensPerSecond()),
                String.format(Locale.ROOT, "%.0f ms", x.loadMs()),
                Units.bytes(x.hostBytes()), Units.bytes(x.deviceBytes()));
    }
}
