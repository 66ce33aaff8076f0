package io.ternion.cli;

import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.RopeOverrides;
import io.ternion.engine.RopeScalingConfig;
import io.ternion.engine.SamplerParams;
import io.ternion.gguf.InputFiles;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The model and sampling flags shared by {@code run}, {@code chat} and {@code serve}, named as in llama.cpp. */
final class GenerationOptions {
    @Option(names = {"-m", "--model"}, paramLabel = "FILE",
            description = "GGUF model (default: the bundled models/stories260K.gguf).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Use this tokenizer.json instead of the model's tokenizer.")
    Path tokenizer;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "-1",
            description = "Tokens to generate; -1: until end of text or a full context (default: ${DEFAULT-VALUE}).")
    int nPredict;

    @Option(names = "--temp", paramLabel = "T", defaultValue = "0.8", description = "Temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k; 0 disables (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Top-p; 1 disables (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "Min-p; 0 disables (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", paramLabel = "X", defaultValue = "1.0",
            description = "Penalty for repeating recent tokens; 1 disables (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64",
            description = "How many recent tokens the repeat penalty looks at (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", defaultValue = "-1", description = "Random seed; -1 picks one (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", defaultValue = "0", description = "Threads; 0: all cores (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N", defaultValue = "0",
            description = "Context size; 0: the model's, at most " + Model.DEFAULT_MAX_CONTEXT + " (default: ${DEFAULT-VALUE}).")
    int contextSize;

    @Option(names = {"-b", "--batch-size"}, paramLabel = "N", defaultValue = "512", description = "Prompt tokens per batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto",
            description = "auto, opencl, cpu or reference (the FP16 reference) (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = {"--device", "-dev"}, paramLabel = "N", defaultValue = "-1",
            description = "GPU device index as `ternion devices` lists them; -1 picks the best (default: ${DEFAULT-VALUE}).")
    int device;

    @Option(names = "--chat-template-file", paramLabel = "FILE", description = "A Jinja chat template to use instead of the model's.")
    Path chatTemplateFile;

    @Option(names = "--ignore-eos", description = "Keep generating past the end-of-text tokens (they are never sampled), as llama.cpp does.")
    boolean ignoreEos;

    @Option(names = "--context-shift", negatable = true,
            description = "When generation fills the context, drop the oldest half of what follows the kept tokens and go on (llama.cpp's"
                    + " context shift; chat drops whole old turns and keeps the system prompt). Default: on for run and chat, off for serve,"
                    + " as llama-server.")
    Boolean contextShift;

    @Option(names = {"--keep"}, paramLabel = "N", defaultValue = "0",
            description = "As llama.cpp: prompt tokens a context shift keeps after BOS; -1 keeps the whole prompt (default: ${DEFAULT-VALUE}).")
    int keep;

    /**
     * The tokens a context shift keeps at the start (at most the prompt), or −1 when it is off:
     * {@code --keep} plus the BOS token the prompt starts with, as llama.cpp counts it.
     */
    int shiftKeep(boolean onByDefault, boolean startsWithBos) {
        if (!(contextShift != null ? contextShift : onByDefault)) return -1;
        return keep < 0 ? Integer.MAX_VALUE : keep + (startsWithBos ? 1 : 0);
    }

    /** The chat template: --chat-template-file's, else the model's (or a built-in one when it has none). */
    ChatFormat chatFormat(Model m) throws IOException {
        if (chatTemplateFile == null) return ChatFormat.forModel(m.file().metadata(), m.config().architecture(), m.tokenizer());
        return chatTemplateFile(m);
    }

    /** For serve: as {@link #chatFormat}, but the model's template stays when one client's conversation fails to render. */
    ChatFormat serverChatFormat(Model m) throws IOException {
        if (chatTemplateFile == null) return ChatFormat.forServer(m.file().metadata(), m.config().architecture(), m.tokenizer());
        return chatTemplateFile(m);
    }

    private ChatFormat chatTemplateFile(Model m) throws IOException {
        String source = new String(InputFiles.readAtMost(chatTemplateFile, 1L << 20, "a chat template"), java.nio.charset.StandardCharsets.UTF_8);
        return ChatFormat.of(source, chatTemplateFile.toString(), m.tokenizer());
    }

    // llama.cpp's flags, so its users' habits work; each either means what it means there or says why not.

    @Option(names = {"-ngl", "--n-gpu-layers", "--gpu-layers"}, paramLabel = "N",
            description = "As llama.cpp: 0 runs on the cpu backend, any other number on the opencl backend (Ternion puts the whole model on the GPU or none of it).")
    Integer gpuLayers;

    @Option(names = {"-fa", "--flash-attn"}, paramLabel = "on|off|auto", arity = "0..1", fallbackValue = "on",
            description = "Accepted for llama.cpp's users; Ternion's attention is always one fused pass.")
    String flashAttention;

    @Option(names = {"-ctk", "--cache-type-k"}, paramLabel = "TYPE", defaultValue = "f16",
            description = "KV cache type of K: f16, q8_0, q4_0, turbo4 or turbo3 (see the README's KV cache section).")
    String cacheTypeK;

    @Option(names = {"-ctv", "--cache-type-v"}, paramLabel = "TYPE", defaultValue = "f16", description = "KV cache type of V, as -ctk.")
    String cacheTypeV;

    @Option(names = "--no-warmup",
            description = "As llama.cpp: load without warming the kernels up (the first tokens then run while the JIT compiles them).")
    boolean noWarmup;

    @Option(names = {"-np", "--parallel"}, paramLabel = "N", defaultValue = "1",
            description = "Sequences at once: serve's slots, which share -c; run and chat generate one (ternion bench --parallel measures several).")
    int parallel;

    @Option(names = {"-hf", "--hf-repo"}, paramLabel = "REPO", description = "A model by name from the Hugging Face hub instead of -m: OWNER/REPO[:QUANT] or hf://OWNER/REPO/FILE.gguf (downloaded once into the cache; see ternion pull).")
    String hfRepo;

    // llama.cpp's RoPE flags, over the model file's rope settings (each absent: the file's).

    @Option(names = "--rope-scaling", paramLabel = "none|linear|yarn", description = "RoPE scaling type (default: the model's).")
    String ropeScaling;

    @Option(names = "--rope-scale", paramLabel = "N", description = "RoPE scaling factor: stretch the context N times (default: the model's).")
    Float ropeScale;

    @Option(names = "--rope-freq-scale", paramLabel = "N", description = "RoPE frequency scale, 1/--rope-scale (default: the model's).")
    Float ropeFreqScale;

    @Option(names = "--rope-freq-base", paramLabel = "N", description = "RoPE base frequency (default: the model's).")
    Float ropeFreqBase;

    @Option(names = "--yarn-orig-ctx", paramLabel = "N", description = "YaRN: the context the model was trained on (default: the model's).")
    Integer yarnOrigCtx;

    @Option(names = "--yarn-ext-factor", paramLabel = "N", description = "YaRN: extrapolation mix; negative: 1 for yarn, else 0 (default: the type's).")
    Float yarnExtFactor;

    @Option(names = "--yarn-attn-factor", paramLabel = "N", description = "YaRN: multiplies the model's attention magnitude factor (default: 1).")
    Float yarnAttnFactor;

    @Option(names = "--yarn-beta-fast", paramLabel = "N", description = "YaRN: low correction dim or beta (default: 32).")
    Float yarnBetaFast;

    @Option(names = "--yarn-beta-slow", paramLabel = "N", description = "YaRN: high correction dim or alpha (default: 1).")
    Float yarnBetaSlow;

    /** The RoPE flags as overrides of the file's values. */
    RopeOverrides rope() {
        RopeScalingConfig.Type type = null;
        if (ropeScaling != null) {
            type = RopeScalingConfig.Type.parse(ropeScaling);
            if (type == null) throw new IllegalArgumentException("--rope-scaling takes none, linear or yarn, not '" + ropeScaling + "'");
        }
        return new RopeOverrides(type, ropeScale, ropeFreqScale, ropeFreqBase, yarnOrigCtx, yarnExtFactor, yarnAttnFactor, yarnBetaFast, yarnBetaSlow);
    }

    /** -ctk and -ctv. */
    KvTypes kvTypes() {
        return kvTypes(cacheTypeK, cacheTypeV);
    }

    /** -ctk and -ctv as given to any command, each refused by its flag's name when unknown. */
    static KvTypes kvTypes(String k, String v) {
        KvType[] types = new KvType[2];
        String[][] flags = {{"--cache-type-k", k}, {"--cache-type-v", v}};
        for (int i = 0; i < 2; i++) {
            try {
                types[i] = KvType.parse(flags[i][1]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(flags[i][0] + ": " + e.getMessage());
            }
        }
        return new KvTypes(types[0], types[1]);
    }

    /** The backend, from --backend or llama.cpp's -ngl, after the flags that Ternion takes but cannot yet honour are refused. */
    private String backend() {
        kvTypes();
        if (flashAttention != null && !java.util.Set.of("on", "off", "auto").contains(flashAttention)) {
            throw new IllegalArgumentException("-fa takes on, off or auto, not '" + flashAttention + "'");
        }
        if (gpuLayers == null) return backend;
        if (gpuLayers < 0) throw new IllegalArgumentException("-ngl must be >= 0, not " + gpuLayers);
        String chosen = gpuLayers == 0 ? "cpu" : "opencl";
        if (!backend.equals("auto") && !backend.equals(chosen)) {
            throw new IllegalArgumentException("-ngl " + gpuLayers + " means --backend " + chosen + ", but --backend " + backend + " was given");
        }
        return chosen;
    }

    /**
     * Refuses flags that are wrong in themselves, before anything happens: a seed line, a port
     * opened, a model loaded. The sampling methods and the loaders call it.
     */
    void checkFlags() {
        if (threads < 0) throw new IllegalArgumentException("-t must be >= 0, not " + threads);
        if (parallel < 1) throw new IllegalArgumentException("-np must be >= 1, not " + parallel);
        if (contextSize < 0) throw new IllegalArgumentException("-c must be >= 0, not " + contextSize);
        if (batchSize <= 0) throw new IllegalArgumentException("-b must be positive, not " + batchSize);
        if (keep < -1) throw new IllegalArgumentException("--keep must be >= -1, not " + keep);
        if (hfRepo != null && model != null) throw new IllegalArgumentException("give -m or -hf, not both");
        backend();
        rope();
    }

    /** The sampling settings; a sampled run without --seed gets a random one, said on stderr so the run can be repeated. */
    SamplerParams sampler() {
        checkFlags();
        long s = seed;
        if (s < 0 && temperature > 0) {
            s = new java.util.SplittableRandom().nextLong() & Long.MAX_VALUE;
            io.ternion.graph.Log.info("sampling with --seed " + s);
        }
        return new SamplerParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, s, ignoreEos);
    }

    /** The sampling settings as given: for serve, where a negative seed draws a new one for each request. */
    SamplerParams samplerDefaults() {
        checkFlags();
        return new SamplerParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed, ignoreEos);
    }

    /** The model for run and chat: one sequence. */
    Model load() throws IOException {
        if (parallel != 1) throw new IllegalArgumentException("-np " + parallel + " means nothing to run and chat, which generate one sequence"
                + " (ternion serve runs several; ternion bench --parallel measures several at once)");
        return loadWithSlots();
    }

    /** The model with -np KV slots, -c divided among them. */
    Model loadWithSlots() throws IOException {
        checkFlags();
        Tokenizer tok = tokenizer != null ? Tokenizer.load(tokenizer) : null;
        String backend = backend();
        if (noWarmup) System.setProperty(Model.WARMUP_PROPERTY, "false");
        return Model.load(modelFile(), new Model.Options(backend, threads, contextSize, batchSize, device).withParallel(parallel)
                .withKvTypes(kvTypes()), tok, rope());
    }

    /** -m, or -hf's file (downloaded into the cache first unless it is there), or the bundled model. */
    Path modelFile() throws IOException {
        if (hfRepo == null) return model != null ? model : Main.defaultModel();
        try {
            return HubDownload.fromEnvironment().fetch(hfRepo);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while downloading " + hfRepo, e);
        }
    }
}
