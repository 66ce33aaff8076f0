package io.ternion.engine;

import io.ternion.gguf.GgufFile;
import io.ternion.graph.Backend;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Graph;
import io.ternion.graph.KvTypes;
import io.ternion.graph.Log;
import io.ternion.tokenizer.Tokenizer;
import io.ternion.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;

/**
 * A loaded model: the mapped file, its config, tokenizer and forward graph, compiled on a backend.
 * This is the library API the CLI uses:
 * <pre>{@code
 * try (Model m = Model.load(Path.of("model.gguf"), Model.Options.DEFAULTS)) {
 *     Session s = m.newSession();
 *     s.generate(m.tokenizer().encode("Once upon a time"), 64, SamplerParams.DEFAULTS,
 *                (id, text) -> { System.out.print(text); return true; });
 * }
 * }</pre>
 */
public final class Model implements AutoCloseable {
    /** Contexts are capped at this unless asked for: a model's full context can need gigabytes of KV cache. */
    public static final int DEFAULT_MAX_CONTEXT = 4096;

    /**
     * @param backend       "auto", "opencl", "cpu" or "reference"
     * @param threads       worker threads; 0 means all available cores
     * @param contextLength positions of KV cache in all; 0 means the model's, capped at {@value #DEFAULT_MAX_CONTEXT}
     * @param batchSize     tokens per forward call
     * @param device        the GPU device index (as {@code ternion devices} lists them); -1 lets the backend pick
     * @param parallel      sequences at once ({@link Scheduler}); each has {@code contextLength / parallel}
     *                      positions, as llama-server divides {@code -c} among its slots
     * @param kvTypes       the KV cache's key and value types ({@code -ctk}, {@code -ctv})
     */
    public record Options(String backend, int threads, int contextLength, int batchSize, int device, int parallel, KvTypes kvTypes) {
        public static final Options DEFAULTS = new Options("auto", 0, 0, 512);

        public Options(String backend, int threads, int contextLength, int batchSize) {
            this(backend, threads, contextLength, batchSize, -1);
        }

        public Options(String backend, int threads, int contextLength, int batchSize, int device) {
            this(backend, threads, contextLength, batchSize, device, 1);
        }

        public Options(String backend, int threads, int contextLength, int batchSize, int device, int parallel) {
            this(backend, threads, contextLength, batchSize, device, parallel, KvTypes.F16);
        }

        public Options withParallel(int sequences) {
            return new Options(backend, threads, contextLength, batchSize, device, sequences, kvTypes);
        }

        public Options withKvTypes(KvTypes types) {
            return new Options(backend, threads, contextLength, batchSize, device, parallel, types);
        }
    }

    private final GgufFile file;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final Backend backend;
    private final CompiledModel compiled;
    private final BitSet stopTokens;
    private final long loadNanos;
    private final KvTypes kvTypes;

    private Model(GgufFile file, ModelConfig config, Tokenizer tokenizer, Backend backend, CompiledModel compiled, long loadNanos, KvTypes kvTypes) {
        this.kvTypes = kvTypes;
        this.file = file;
        this.config = config;
        this.tokenizer = tokenizer;
        this.backend = backend;
        this.compiled = compiled;
        this.loadNanos = loadNanos;
        this.stopTokens = stopTokens(tokenizer.vocabulary());
    }

    public static Model load(Path path, Options options) throws IOException {
        return load(path, options, null);
    }

    /** Loads a model, with the tokenizer from {@code tokenizerOverride} (a tokenizer.json) when given. */
    public static Model load(Path path, Options options, Tokenizer tokenizerOverride) throws IOException {
        return load(path, options, tokenizerOverride, RopeOverrides.NONE);
    }

    /** As {@link #load(Path, Options, Tokenizer)}, with llama.cpp's RoPE flags over the file's rope settings. */
    public static Model load(Path path, Options options, Tokenizer tokenizerOverride, RopeOverrides rope) throws IOException {
        long t0 = System.nanoTime();
        GgufFile file = GgufFile.open(path);
        try {
            ModelConfig config = ModelConfig.from(file).withRopeOverrides(rope);
            Tokenizer tok = tokenizerOverride != null ? tokenizerOverride : Tokenizer.fromGguf(file.metadata());
            if (tok.vocabulary().size() > config.vocabSize()) {
                throw new ModelException(path + ": the tokenizer has " + tok.vocabulary().size()
                        + " tokens but the model's output has " + config.vocabSize());
            }
            Graph graph = LlamaGraph.build(file, config);
            LlamaGraph.requireFiniteVectors(graph);
            int total = options.contextLength() > 0 ? options.contextLength() : Math.min(config.contextLength(), DEFAULT_MAX_CONTEXT);
            int slots = options.parallel();
            if (slots < 1 || slots > total) {
                throw new ModelException("--parallel " + slots + " does not fit a context of " + total + " (each sequence gets -c / --parallel positions)");
            }
            int ctx = total / slots;
            KvTypes kv = options.kvTypes();
            try {
                kv.checkHeadDim(config.headDim());
            } catch (IllegalArgumentException e) {
                throw new ModelException(e.getMessage());
            }
            long kvBytes = (long) config.layers() * slots * ctx * kv.bytesPerPosition(config.kvHeads(), config.headDim());
            if (kvBytes > Runtime.getRuntime().maxMemory()) {
                throw new ModelException(String.format(java.util.Locale.ROOT,
                        "a context of %d positions needs %.1f GiB of %s KV cache, more than the %.1f GiB this JVM may use (lower -c, or store it smaller with -ctk/-ctv)",
                        slots * ctx, kvBytes / 1073741824.0, kv, Runtime.getRuntime().maxMemory() / 1073741824.0));
            }
            warnPastMaxContext(config, ctx);
            Backend backend = Backends.create(options.backend(), options.threads(), options.device());
            boolean onCpu = backend instanceof io.ternion.kernels.cpu.CpuBackend || backend instanceof FallbackBackend f && f.cpuOnly();
            KernelWarmUp warmUp = onCpu ? KernelWarmUp.start(file, config, cpuThreads(backend), kv) : null;
            // Pages in the tensors a CPU forward reads in place (2B4T's F16 head) beside the repacking, not in the first forward.
            Thread pager = onCpu && fitsInMemory(file) ? Thread.ofPlatform().daemon().name("ternion-pager").start(() -> populate(file)) : null;
            try {
                int batch = Math.max(1, Math.min(options.batchSize(), slots * ctx));
                CompiledModel compiled;
                try {
                    compiled = backend.compile(backend.fuse(graph), ctx, batch, slots, kv);
                } finally {
                    if (pager != null) awaitPages(pager); // also before a failed load unmaps the file
                }
                if (warmUp != null) settle(warmUp, compiled, config.vocabSize());
                return new Model(file, config, tok, backend, compiled, System.nanoTime() - t0, kv);
            } catch (OutOfMemoryError e) {
                if (warmUp != null) warmUp.close();
                backend.close();
                throw new ModelException("not enough memory for the model's buffers at a context of " + slots * ctx + " (lower -c)");
            } catch (RuntimeException e) {
                if (warmUp != null) warmUp.close();
                backend.close();
                throw e;
            }
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** Set to false to load without warming the kernels up ({@link KernelWarmUp}, {@link #settle}). */
    public static final String WARMUP_PROPERTY = KernelWarmUp.PROPERTY;

    /** The longest a load spends on {@link #settle}: past it, the first tokens may still run partly uncompiled. */
    static final long SETTLE_NANOS = 3_000_000_000L;
    /** The steps in a row whose times must lie within {@link #SETTLE_SPREAD} of each other. */
    private static final int SETTLE_STEPS = 3;
    private static final double SETTLE_SPREAD = 1.3;
    /** Tokens of the prompt batch that {@link #settle} runs before its steps. */
    private static final int SETTLE_PROMPT = 16;

    /**
     * llama.cpp's warm-up run, on the real model: single-token steps at position 0 until
     * {@value #SETTLE_STEPS} in a row take times within {@value #SETTLE_SPREAD}× of each other and the
     * JIT finished no compilation meanwhile, or {@link #SETTLE_NANOS} have passed. {@link KernelWarmUp} had the JIT compile the kernels on a
     * small model beside the repacking, but the real model still takes branches that one never took
     * (its own widths and buffer sizes, the first buffers of its worker threads). Its first forward
     * deoptimized those kernels and ran them interpreted until the JIT had compiled them again: 28–137×
     * a later step on Bonsai-1.7B. Here that happens in the load, so a run's first token costs about
     * what its later ones do. The steps write slot 0's KV rows from position 0, which every sequence
     * writes before it reads them.
     */
    private static void settle(KernelWarmUp warmUp, CompiledModel compiled, int vocab) {
        warmUp.close();
        try {
            warmUp.awaitStopped(); // its last small forward, not both at once on the cores
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        long deadline = System.nanoTime() + SETTLE_NANOS;
        float[] logits = new float[vocab];
        // One prompt batch first: attention takes another path for a prompt's rows than for one token, and its
        // first run on the real model's threads and shapes deoptimizes what the small model compiled.
        int prompt = Math.min(SETTLE_PROMPT, Math.min(compiled.maxBatch(), compiled.contextLength()));
        if (prompt > 1) compiled.forward(new int[prompt], 0, logits);
        java.lang.management.CompilationMXBean jit = compilationBean();
        boolean jitTimed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long[] last = new long[SETTLE_STEPS], compiling = new long[SETTLE_STEPS];
        for (int step = 0; System.nanoTime() < deadline; step++) {
            long t0 = System.nanoTime(), c0 = jitTimed ? jit.getTotalCompilationTime() : 0;
            compiled.forwardArgmax(new int[] {0}, 0, logits);
            last[step % SETTLE_STEPS] = System.nanoTime() - t0;
            compiling[step % SETTLE_STEPS] = jitTimed ? jit.getTotalCompilationTime() - c0 : 0;
            // Steps as fast as each other can still all be slow: the JIT's threads share the cores.
            if (step + 1 >= SETTLE_STEPS && Arrays.stream(compiling).sum() == 0
                    && Arrays.stream(last).max().getAsLong() <= SETTLE_SPREAD * Arrays.stream(last).min().getAsLong()) break;
        }
    }

    /** The JIT's accounting, or null in a runtime without java.management (the steps then settle on their times alone). */
    private static java.lang.management.CompilationMXBean compilationBean() {
        try {
            return java.lang.management.ManagementFactory.getCompilationMXBean();
        } catch (LinkageError e) {
            return null;
        }
    }

    /** The threads the CPU kernels of {@code backend} (a CPU backend, or a fallback that fell back) run on. */
    private static int cpuThreads(Backend backend) {
        return backend instanceof io.ternion.kernels.cpu.CpuBackend c ? c.threads() : ((FallbackBackend) backend).cpuThreads();
    }

    private static void populate(GgufFile file) {
        try {
            file.populate();
        } catch (RuntimeException | Error e) {
            // only a head start: a forward that reads a bad page reports it
        }
    }

    private static void awaitPages(Thread pager) {
        try {
            pager.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the first forward faults the rest in
        }
    }

    /** A file past half the machine's memory is left to page in as read: reading it all ahead would evict itself. */
    private static boolean fitsInMemory(GgufFile file) {
        try {
            java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            return !(os instanceof com.sun.management.OperatingSystemMXBean m) || file.fileSize() < m.getTotalMemorySize() / 2;
        } catch (LinkageError e) {
            return true; // a runtime without jdk.management: the file is paged in as read
        }
    }

    /**
     * llama.cpp runs a context past the model's and warns; so does Ternion, with the way to stretch
     * it when the file has no scaling, and the scaled maximum when it has.
     */
    private static void warnPastMaxContext(ModelConfig config, int ctx) {
        int max = config.maxContext();
        if (ctx <= max) return;
        RopeScalingConfig rope = config.ropeScaling();
        note(rope.stretches()
                ? String.format(java.util.Locale.ROOT, "warning: a context of %d positions is past the %d that %s rope scaling reaches; output may degrade past position %d",
                        ctx, max, rope, max)
                : String.format(java.util.Locale.ROOT, "warning: a context of %d positions is past the model's %d and it has no rope scaling; output may degrade past"
                        + " position %d (--rope-scaling yarn --rope-scale N stretches it)", ctx, max, max));
    }

    /** EOS, EOT and the end-of-turn markers of the common chat formats. */
    private static BitSet stopTokens(Vocabulary v) {
        BitSet s = new BitSet(v.size());
        if (v.eos() >= 0) s.set(v.eos());
        if (v.eot() >= 0) s.set(v.eot());
        for (String t : new String[] {"<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>", "<|end|>", "</s>"}) {
            int id = v.id(t);
            if (id >= 0 && v.type(id) == io.ternion.tokenizer.TokenType.CONTROL) s.set(id);
        }
        return s;
    }

    public boolean isStopToken(int id) { return stopTokens.get(id); }

    /** Makes the stop tokens unpickable: their logits become −∞ (for {@code --ignore-eos}). */
    void maskStopTokens(float[] logits) {
        for (int id = stopTokens.nextSetBit(0); id >= 0 && id < logits.length; id = stopTokens.nextSetBit(id + 1)) logits[id] = Float.NEGATIVE_INFINITY;
    }

    public ModelConfig config() { return config; }
    public Tokenizer tokenizer() { return tokenizer; }
    public GgufFile file() { return file; }
    public String backendName() { return backend.name(); }
    /** What the backend runs on, in words (the CPU and its threads, or the GPU's name). */
    public String backendDevice() { return backend.device(); }
    /** Bytes the backend holds beside the mapped file, on the host and on a device. */
    public long hostBytes() { return compiled.residentBytes(); }
    /** The KV cache's key and value types. */
    public KvTypes kvTypes() { return kvTypes; }
    /** Bytes of KV cache one position takes, all layers, keys and values. */
    public long kvBytesPerToken() { return config.layers() * kvTypes.bytesPerPosition(config.kvHeads(), config.headDim()); }
    public long deviceBytes() { return compiled.deviceBytes(); }
    /** Positions per sequence (per slot: the whole context divided among {@link #parallel()} sequences). */
    public int contextLength() { return compiled.contextLength(); }
    /** Sequences the KV cache holds at once. */
    public int parallel() { return compiled.slots(); }
    public long loadNanos() { return loadNanos; }
    /**
     * The compiled graph, for harnesses that drive forward passes themselves (timing a batch, or
     * feeding a fixed sequence). A {@link Session} on this model does not see those passes: use one
     * or the other.
     */
    public CompiledModel compiled() { return compiled; }

    /**
     * Throws the error for logits that hold NaN or an infinity at {@code position} (where
     * {@link CompiledModel#argmax} gave −1, or before sampling), unless they are all finite.
     */
    public void requireFinite(float[] logits, int position) {
        if (!CompiledModel.allFinite(logits)) throw nonFinite(position);
    }

    /** The error for non-finite logits at {@code position}: the first tensor (in file order) that holds a non-finite value is named. */
    public ModelException nonFinite(int position) {
        String culprit = LlamaGraph.firstNonFinite(file);
        return new ModelException("the logits at position " + position + " are not finite (NaN or infinity): "
                + (culprit != null ? culprit : "every tensor is finite, so the model's arithmetic overflowed"));
    }

    /** A conversation or completion state over slot 0 of this model's KV cache (one at a time; not beside a {@link Scheduler}). */
    public Session newSession() {
        return new Session(this);
    }

    @Override
    public void close() {
        compiled.close();
        backend.close();
        file.close();
    }

    static void note(String s) { Log.info(s); }
}
