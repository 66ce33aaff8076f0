package io.ternion.harness;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * A llama-bench binary the user built (llama.cpp's, or a fork's: bitnet.cpp, PrismML's), run as
 * {@code ternion bench --peer} runs it: one test, one timed run ({@code -r 1}), JSON on stdout.
 * llama-bench's JSON is an array of one object per test with {@code n_prompt}, {@code n_gen},
 * {@code n_depth} (absent before llama-bench had {@code -d}), {@code n_threads}, {@code avg_ts},
 * {@code samples_ts} and the build's {@code build_commit} / {@code build_number}; a model it cannot
 * load prints an error on stderr and exits non-zero (older builds), or prints no test and exits 1
 * (newer ones). Either is a {@link Failure} carrying the peer's own words.
 */
public final class LlamaBenchPeer {
    /** Longer than any test a user would time (an 8B prompt at one thread, a 16k depth), short of forever. */
    private static final long TIMEOUT_SECONDS = 30 * 60;
    /** stderr lines that say what went wrong, as llama.cpp words them. */
    private static final Pattern ERROR_LINE = Pattern.compile("(?i).*(error|failed|unknown|invalid|unsupported|not supported|abort).*");

    private final Path binary;

    /** A binary that is missing or not executable is an IllegalArgumentException now, before anything is measured. */
    public LlamaBenchPeer(Path binary) {
        if (!Files.isRegularFile(binary)) throw new IllegalArgumentException("--peer " + binary + ": no such file");
        if (!Files.isExecutable(binary)) throw new IllegalArgumentException("--peer " + binary + ": not executable");
        this.binary = binary;
    }

    public Path binary() { return binary; }

    /**
     * One timed run of the peer.
     *
     * @param build     the peer's {@code build_commit (build_number)}
     * @param modelType how the peer describes the model ({@code model_type}, e.g. "bitnet 2B I2_S - 2 bpw ternary")
     */
    public record Run(double tokensPerSecond, String build, String modelType) {}

    /** The peer did not measure: it refused the file or the flags, crashed, or printed something that is not llama-bench's JSON. */
    public static final class Failure extends Exception {
        Failure(String message) { super(message); }
    }

    /**
     * The arguments of one run: the same test as Ternion's, a pp ({@code gen} 0) or a tg ({@code prompt} 0)
     * after {@code depth} tokens, with the same KV cache types.
     */
    List<String> command(Path model, int threads, int prompt, int gen, int depth, KvTypes kv) {
        List<String> c = new ArrayList<>(List.of(binary.toString(), "-m", model.toString(), "-p", Integer.toString(prompt), "-n",
                Integer.toString(gen), "-t", Integer.toString(threads), "-r", "1", "-o", "json"));
        // Only when asked: forks cut before llama-bench had -d (bitnet.cpp's) refuse the flag.
        if (depth > 0) c.addAll(List.of("-d", Integer.toString(depth)));
        // Likewise only when asked (F16 is llama-bench's default). llama.cpp stores a quantized V only with
        // flash attention ("quantized V cache was requested, but this requires Flash Attention"), so that
        // turns it on; a type the peer lacks (turbo3, turbo4 outside TurboQuant forks) is its refusal to report.
        if (!kv.isF16()) {
            c.addAll(List.of("-ctk", kv.key().id(), "-ctv", kv.value().id()));
            if (kv.value() != KvType.F16) c.addAll(List.of("-fa", "1"));
        }
        return c;
    }

    public Run run(Path model, int threads, int prompt, int gen, int depth) throws Failure {
        return run(model, threads, prompt, gen, depth, KvTypes.F16);
    }

    /** One timed run with a KV cache of types {@code kv} ({@code -ctk}/{@code -ctv}). */
    public Run run(Path model, int threads, int prompt, int gen, int depth, KvTypes kv) throws Failure {
        Path out = null, err = null;
        try {
            out = Files.createTempFile("ternion-peer", ".out");
            err = Files.createTempFile("ternion-peer", ".err");
            // Both to files: a peer that fills one pipe while we wait on the other would hang both.
            Process p = new ProcessBuilder(command(model, threads, prompt, gen, depth, kv))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
                    .start();
            boolean done;
            try {
                done = p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new Failure("interrupted");
            }
            if (!done) {
                p.destroyForcibly();
                throw new Failure("no answer after " + TIMEOUT_SECONDS / 60 + " minutes");
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8), stderr = Files.readString(err, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) throw new Failure("exit " + p.exitValue() + ": " + message(stderr, stdout));
            return parse(stdout, stderr, threads, prompt, gen, depth);
        } catch (IOException e) {
            throw new Failure("could not run it: " + e.getMessage());
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    /** llama-bench's {@code -o json}: the row of the test asked for, its one sample. */
    static Run parse(String stdout, String stderr, int threads, int prompt, int gen, int depth) throws Failure {
        int open = stdout.indexOf('['), close = stdout.lastIndexOf(']');
        if (open < 0 || close < open) throw new Failure("printed no llama-bench JSON: " + message(stderr, stdout));
        JsonNode rows;
        try {
            rows = Json.MAPPER.readTree(stdout.substring(open, close + 1));
        } catch (JacksonException e) {
            throw new Failure("printed JSON that does not parse: " + e.getOriginalMessage());
        }
        if (!rows.isArray() || rows.isEmpty()) throw new Failure("measured nothing: " + message(stderr, stdout));
        for (JsonNode r : rows) {
            if (r.path("n_prompt").asInt(-1) != prompt || r.path("n_gen").asInt(-1) != gen || r.path("n_depth").asInt(0) != depth) continue;
            if (r.path("n_threads").asInt(threads) != threads) {
                throw new Failure("ran " + r.path("n_threads").asInt() + " threads, not the " + threads + " asked for");
            }
            JsonNode samples = r.path("samples_ts");
            double tps = samples.isArray() && !samples.isEmpty() ? samples.get(0).asDouble() : r.path("avg_ts").asDouble(Double.NaN);
            if (!(tps > 0) || Double.isInfinite(tps)) throw new Failure("reported no speed for the test (avg_ts " + r.path("avg_ts") + ")");
            String build = r.path("build_commit").asText("?") + (r.has("build_number") ? " (" + r.path("build_number").asText() + ")" : "");
            return new Run(tps, build, r.path("model_type").asText(null));
        }
        throw new Failure(String.format(Locale.ROOT, "reported no test with n_prompt %d, n_gen %d, n_depth %d", prompt, gen, depth));
    }

    /** What the peer said, short: its error lines if it printed any, else its last lines. */
    static String message(String stderr, String stdout) {
        List<String> lines = nonBlank(stderr);
        if (lines.isEmpty()) lines = nonBlank(stdout);
        if (lines.isEmpty()) return "(it printed nothing)";
        List<String> errors = lines.stream().filter(l -> ERROR_LINE.matcher(l).matches()).toList();
        List<String> chosen = errors.isEmpty() ? lines : errors;
        String s = String.join(" / ", chosen.subList(Math.max(0, chosen.size() - 3), chosen.size()));
        return s.length() > 500 ? s.substring(0, 500) + "…" : s;
    }

    private static List<String> nonBlank(String text) {
        return text.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    private static java.io.File nullDevice() {
        return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
    }

    private static void deleteQuietly(Path p) {
        if (p == null) return;
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // a temp file left behind is harmless
        }
    }
}
