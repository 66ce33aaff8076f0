package io.ternion.harness;

import io.ternion.engine.Model;
import io.ternion.engine.ModelConfig;
import io.ternion.gguf.GgufFile;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.KvTypes;
import io.ternion.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Teacher forcing across backends. The FP16 reference runs first: it evaluates the prompt and
 * continues it greedily for {@code generate} tokens, keeping its logits at every position. Then each
 * backend is fed exactly that sequence, one token per forward call, and its logits are compared
 * position by position with the reference's, so a backend's error never changes what it is fed.
 */
public final class CompareRunner {
    private CompareRunner() {}

    /**
     * @param threads worker threads for each backend; 0 means all cores
     * @param device  the GPU device index for GPU backends, -1 to let the backend pick
     * @param kv      the KV cache types of the backends compared; the reference's stays F16, unrounded
     */
    public record Settings(Path model, String prompt, int generate, List<String> backends, int threads, int device, KvTypes kv) {
        public Settings(Path model, String prompt, int generate, List<String> backends, int threads, int device) {
            this(model, prompt, generate, backends, threads, device, KvTypes.F16);
        }
    }

    /** Prompt tokens per forward call on the prompt path (as {@code ternion run}'s default -b). */
    private static final int BATCH = 512;

    @FunctionalInterface
    private interface PositionSink {
        void accept(int pos, float[] logits);
    }

    /**
     * Runs the comparison. A backend that cannot be created or loaded is skipped with its reason
     * ({@code progress} says so at once); none at all, an empty sequence or logits that would not fit
     * in the heap are IllegalArgumentExceptions.
     */
    public static CompareReport run(Settings s, Consumer<String> progress) throws IOException {
        ModelInfo info;
        int[] prompt;
        int vocab, context;
        try (GgufFile f = GgufFile.open(s.model())) {
            info = ModelInfo.of(f, s.model());
            prompt = Tokenizer.fromGguf(f.metadata()).encode(s.prompt());
            ModelConfig c = ModelConfig.from(f);
            vocab = c.vocabSize();
            context = c.contextLength();
        }
        int length = prompt.length + s.generate();
        if (length > context) {
            throw new IllegalArgumentException("the prompt's " + prompt.length + " tokens and -n " + s.generate() + " make " + length
                    + " positions, more than the model's context of " + context + " (lower -n or shorten the prompt)");
        }
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty (not even a BOS token): give one with -p or -f");
        if (length < 2) throw new IllegalArgumentException("the sequence is 1 token: compare needs 2 or more (a longer prompt, or -n 1 or more)");
        checkHeap(length, vocab);
        BackendCheck.Availability backends = BackendCheck.check(s.backends(), s.threads(), s.device(), progress);

        int[] seq = Arrays.copyOf(prompt, length);
        float[][] refLogits = new float[length][];
        CompareReport.Run reference;
        try (Model m = load(s, "reference", length, KvTypes.F16)) {
            reference = run(m, prompt, seq, (pos, logits) -> {
                refLogits[pos] = logits.clone();
                if (pos + 1 < length && pos + 1 >= prompt.length) seq[pos + 1] = Agreement.argmax(logits); // greedy continuation
            }, null);
        }
        progress.accept(describe(reference));

        List<CompareReport.Run> runs = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>(backends.skipped());
        for (String name : backends.available()) {
            Model m;
            try {
                m = load(s, name, length, s.kv());
            } catch (RuntimeException e) {
                skipped.add(new Skipped(name, String.valueOf(e.getMessage())));
                progress.accept("skipping backend " + name + ": " + e.getMessage());
                continue;
            }
            try (m) {
                CompareReport.Run r = run(m, prompt, seq, null, refLogits);
                runs.add(r);
                progress.accept(describe(r));
            }
        }
        if (runs.isEmpty()) throw new IllegalArgumentException("no backend could run: " + BackendCheck.describe(skipped));
        List<Integer> tokens = Arrays.stream(seq).boxed().toList();
        return new CompareReport(CompareReport.SCHEMA, info, new CompareReport.Sequence(prompt.length, s.generate(), tokens),
                reference, runs, skipped);
    }

    private static Model load(Settings s, String backend, int length, KvTypes kv) throws IOException {
        return Model.load(s.model(), new Model.Options(backend, s.threads(), length, BATCH, s.device()).withKvTypes(kv));
    }

    /** The reference's logits are kept for every position: refuse what would run the heap out. */
    private static void checkHeap(int positions, int vocab) {
        long bytes = 4L * positions * vocab;
        if (bytes > Runtime.getRuntime().maxMemory() / 4) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "compare keeps the reference's logits at every position: %d positions × %d tokens need %.1f GiB, more than this JVM can spare (shorten the prompt or -n)",
                    positions, vocab, bytes / 1073741824.0));
        }
    }

    /**
     * The prompt path twice (the first pass warms up the JIT, the second is timed), then the whole
     * sequence one token at a time from position 0, timed. The reference's run hands each position's
     * logits to {@code sink} (which may choose the next token); the others are measured against
     * {@code reference}'s logits.
     */
    private static CompareReport.Run run(Model m, int[] prompt, int[] seq, PositionSink sink, float[][] reference) {
        CompiledModel cm = m.compiled();
        float[] logits = new float[m.config().vocabSize()];
        prefill(cm, prompt, logits);
        long prefillNanos = prefill(cm, prompt, logits);
        Agreement.Accumulator agreement = reference == null ? null : new Agreement.Accumulator();
        int[] one = new int[1];
        long decodeNanos = 0;
        double nll = 0;
        for (int pos = 0; pos < seq.length; pos++) {
            one[0] = seq[pos]; // read here, not before the loop: the reference's sink writes the continuation
            long t0 = System.nanoTime();
            cm.forward(one, pos, logits);
            decodeNanos += System.nanoTime() - t0;
            m.requireFinite(logits, pos); // a perplexity of NaN says nothing; the tensor at fault does
            if (sink != null) sink.accept(pos, logits);
            if (agreement != null) agreement.add(reference[pos], logits);
            if (pos + 1 < seq.length) nll += Agreement.nll(logits, seq[pos + 1]);
        }
        // The KV cache's types and size go with the device: what the backend ran on, and in what form.
        String device = String.format(Locale.ROOT, "%s; KV cache %s, %d bytes per token", m.backendDevice(), m.kvTypes(), m.kvBytesPerToken());
        return new CompareReport.Run(m.backendName(), device, m.loadNanos() / 1e6, prompt.length / (prefillNanos / 1e9),
                seq.length / (decodeNanos / 1e9), m.hostBytes(), m.deviceBytes(), Math.exp(nll / (seq.length - 1)),
                agreement == null ? null : agreement.finish());
    }

    private static long prefill(CompiledModel cm, int[] prompt, float[] logits) {
        long t0 = System.nanoTime();
        for (int pos = 0; pos < prompt.length; pos += cm.maxBatch()) {
            cm.forward(Arrays.copyOfRange(prompt, pos, Math.min(prompt.length, pos + cm.maxBatch())), pos, logits);
        }
        return System.nanoTime() - t0;
    }

    private static String describe(CompareReport.Run r) {
        String s = String.format(Locale.ROOT, "%s: prefill %.1f tok/s, decode %.1f tok/s, perplexity %.3f", r.backend(),
                r.prefillTokensPerSecond(), r.decodeTokensPerSecond(), r.perplexity());
        Agreement a = r.agreement();
        return a == null ? s : s + String.format(Locale.ROOT, ", top-1 %.1f%%, KL mean %.3g max %.3g", a.top1AgreementPercent(),
                a.klMean(), a.klMax());
    }
}
