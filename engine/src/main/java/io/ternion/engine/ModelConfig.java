package io.ternion.engine;

import io.ternion.gguf.GgufFile;
import io.ternion.gguf.Metadata;
import io.ternion.graph.Activation;
import io.ternion.graph.Graph;

/**
 * The hyperparameters of a llama-family model, read from {@code {arch}.*} metadata. Architectures
 * differ in a few switches (RoPE pairing, FFN activation, sub-norms, q/k norms), not in code.
 */
public record ModelConfig(
        String architecture,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        int ropeDims,
        float ropeTheta,
        boolean ropeNeox,
        float rmsEps,
        Activation activation,
        boolean subNorms,
        boolean qkNorm,
        RopeScalingConfig ropeScaling) {

    /** Architectures Ternion runs; anything else is an error naming it. */
    static final java.util.List<String> SUPPORTED = java.util.List.of("llama", "bitnet", "bitnet-b1.58", "bitnet-25", "qwen3");

    public int qDim() { return heads * headDim; }
    public int kvDim() { return kvHeads * headDim; }

    /**
     * The longest context the model handles well: {@code context_length}, or the original context
     * times the rope scaling's factor when the file (or a flag) stretches it. Past it Ternion still
     * runs, with a warning, as llama.cpp does.
     */
    public int maxContext() { return ropeScaling.maxContext(contextLength); }

    /** This config with llama.cpp's RoPE flags over the file's values. */
    public ModelConfig withRopeOverrides(RopeOverrides o) {
        float theta = o.freqBase() != null && o.freqBase() > 0 ? o.freqBase() : ropeTheta;
        return new ModelConfig(architecture, dim, layers, heads, kvHeads, headDim, ffnDim, vocabSize, contextLength, ropeDims, theta, ropeNeox,
                rmsEps, activation, subNorms, qkNorm, ropeScaling.with(o));
    }

    /**
     * A model of this architecture with one layer, 256 wide, heads as wide as this one's, as many
     * query heads per KV head, and as few KV heads as keep the attention output's rows whole blocks
     * of any type (256 values), with {@code vocabSize} tokens ({@link KernelWarmUp}).
     */
    ModelConfig small(int vocabSize) {
        int group = heads / kvHeads, kv = 1;
        while (kv < kvHeads && (long) kv * group * headDim % 256 != 0) kv++;
        return new ModelConfig(architecture, 256, 1, kv * group, kv, headDim, 512, vocabSize, contextLength, ropeDims, ropeTheta,
                ropeNeox, rmsEps, activation, subNorms, qkNorm, ropeScaling);
    }

    /** The KV cache a graph of this model shares between its attention ops. */
    public Graph.Cache cache() { return new Graph.Cache(layers, heads, kvHeads, headDim); }

    /**
     * Bounds far past every real model (the largest have 16384-wide embeddings, 128 heads of 256,
     * 126 layers, 256k-token vocabularies and a million positions), so that sizes computed from
     * them fit an int and a hostile file is refused with the key's name, not an overflow later.
     */
    static final int MAX_WIDTH = 1 << 20, MAX_HEADS = 4096, MAX_HEAD_DIM = 4096, MAX_LAYERS = 4096, MAX_VOCAB = 1 << 24,
            MAX_CONTEXT = 1 << 24;

    public static ModelConfig from(GgufFile f) {
        Metadata md = f.metadata();
        String arch = f.architecture();
        if (arch == null) throw new ModelException(f.source() + ": no general.architecture key; is this a model file?");
        if (!SUPPORTED.contains(arch)) {
            throw new ModelException(f.source() + ": architecture '" + arch + "' is not supported (Ternion runs "
                    + String.join(", ", SUPPORTED) + ")");
        }
        String p = arch + ".";
        Check check = new Check(f.source());
        int dim = check.required(md, p + "embedding_length", 1, MAX_WIDTH);
        int heads = check.required(md, p + "attention.head_count", 1, MAX_HEADS);
        int kvHeads = check.range(md, p + "attention.head_count_kv", heads, 1, heads);
        if (heads % kvHeads != 0) {
            throw new ModelException(f.source() + ": " + p + "attention.head_count " + heads + " is not a multiple of " + p
                    + "attention.head_count_kv " + kvHeads);
        }
        if (!md.has(p + "attention.key_length") && dim < heads) {
            throw new ModelException(f.source() + ": " + p + "embedding_length " + dim + " is less than " + p + "attention.head_count " + heads
                    + ", and there is no " + p + "attention.key_length to say the head size");
        }
        int headDim = check.range(md, p + "attention.key_length", dim / heads, 1, MAX_HEAD_DIM);
        if ((long) heads * headDim > MAX_WIDTH) {
            throw new ModelException(f.source() + ": " + p + "attention.head_count " + heads + " × " + p + "attention.key_length " + headDim
                    + " is more than Ternion supports (" + MAX_WIDTH + ")");
        }
        int layers = check.required(md, p + "block_count", 1, MAX_LAYERS);
        int blocksInFile = blocksInFile(f);
        if (layers > blocksInFile) {
            throw new ModelException(f.source() + ": " + p + "block_count is " + layers + " but the file has tensors for " + blocksInFile + " blocks");
        }
        int ffn = check.required(md, p + "feed_forward_length", 1, MAX_WIDTH);
        int vocab = md.has(p + "vocab_size") ? md.getInt(p + "vocab_size")
                : md.has("tokenizer.ggml.tokens") ? md.getArray("tokenizer.ggml.tokens").length()
                : (int) (long) f.findTensor("token_embd.weight").map(t -> t.dim(1)).orElse(0L);
        boolean bitnet = arch.startsWith("bitnet");
        boolean neox = bitnet || arch.equals("qwen3");
        Activation act = switch (arch) {
            case "bitnet-b1.58", "bitnet-25" -> Activation.RELU_SQUARED;
            // SiLU, as every peer runs 'bitnet'. The key is for 2B4T files converted to 'bitnet' by patched
            // converters, which may declare 2B4T's relu2 there (newer upstream reads the key too); Ternion's
            // synth does not write it.
            case "bitnet" -> md.getString(p + "hidden_activation", "silu").equals("relu2") ? Activation.RELU_SQUARED : Activation.SILU;
            default -> Activation.SILU;
        };
        if (vocab < 1 || vocab > MAX_VOCAB) {
            throw new ModelException(f.source() + ": the vocabulary has " + vocab + " tokens (" + p + "vocab_size or tokenizer.ggml.tokens);"
                    + " Ternion takes 1 to " + MAX_VOCAB);
        }
        int context = check.range(md, p + "context_length", 2048, 1, MAX_CONTEXT);
        int ropeDims = check.range(md, p + "rope.dimension_count", headDim, 2, headDim);
        if (ropeDims % 2 != 0) throw new ModelException(f.source() + ": " + p + "rope.dimension_count is " + ropeDims + "; RoPE rotates pairs, so it must be even");
        float ropeTheta = md.getFloat(p + "rope.freq_base", 10000f);
        if (!(ropeTheta > 0) || !Float.isFinite(ropeTheta)) throw new ModelException(f.source() + ": " + p + "rope.freq_base is " + ropeTheta + "; it must be a positive number");
        float eps = md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f);
        if (!(eps >= 0) || !Float.isFinite(eps)) throw new ModelException(f.source() + ": " + p + "attention.layer_norm_rms_epsilon is " + eps + "; it must be a small positive number");
        return new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab, context, ropeDims, ropeTheta, neox, eps,
                act, bitnet, arch.equals("qwen3"), ropeScaling(md, p, context, check));
    }

    /**
     * {@code {arch}.rope.scaling.*} as llama.cpp reads them: the type (default linear), the factor
     * (or the older {@code rope.scale_linear}; absent or 0: none), the original context (default
     * the context length) and the attn_factor (default 1).
     */
    private static RopeScalingConfig ropeScaling(Metadata md, String p, int context, Check check) {
        RopeScalingConfig unscaled = RopeScalingConfig.unscaled(context);
        String typeKey = p + "rope.scaling.type";
        String typeName = md.has(typeKey) ? check.string(md, typeKey) : "linear";
        RopeScalingConfig.Type type = RopeScalingConfig.Type.parse(typeName);
        if (type == null) throw new ModelException(check.source() + ": " + typeKey + " is '" + typeName + "'; Ternion takes none, linear or yarn");
        String factorKey = md.has(p + "rope.scaling.factor") ? p + "rope.scaling.factor" : p + "rope.scale_linear";
        float factor = check.number(md, factorKey, 0f);
        if (factor != 0 && !(factor >= RopeScalingConfig.MIN_FACTOR && factor <= RopeScalingConfig.MAX_FACTOR)) {
            throw new ModelException(check.source() + ": " + factorKey + " is " + factor + "; Ternion takes 0 (none) or "
                    + RopeScalingConfig.MIN_FACTOR + " to " + (int) RopeScalingConfig.MAX_FACTOR);
        }
        int original = check.range(md, p + "rope.scaling.original_context_length", context, 1, MAX_CONTEXT);
        float attn = check.number(md, p + "rope.scaling.attn_factor", 1f);
        if (!(attn > 0) || !Float.isFinite(attn)) throw new ModelException(check.source() + ": " + p + "rope.scaling.attn_factor is " + attn + "; it must be positive");
        return new RopeScalingConfig(type, factor == 0 ? 1f : factor, original, attn, unscaled.extFactor(), unscaled.betaFast(), unscaled.betaSlow());
    }

    /** The number of blocks {@code blk.N.*} the file has tensors for: one more than the largest N. */
    private static int blocksInFile(GgufFile f) {
        int n = 0;
        for (var t : f.tensors()) {
            String name = t.name();
            if (!name.startsWith("blk.")) continue;
            int end = name.indexOf('.', 4);
            try {
                if (end > 4) n = Math.max(n, Integer.parseInt(name, 4, end, 10) + 1);
            } catch (NumberFormatException e) {
                // not a block tensor; LlamaGraph names what is missing
            }
        }
        return n;
    }

    /** Reads integer hyperparameters, each within bounds, or says which key holds what. */
    private record Check(String source) {
        /** The key's value within [min, max]; the key must be there. */
        int required(Metadata md, String key, int min, int max) {
            if (!md.has(key)) throw new ModelException(source + ": the metadata key " + key + " is missing");
            return range(md, key, 0, min, max);
        }

        /** The key's value as a float, or {@code fallback} when it is absent. */
        float number(Metadata md, String key, float fallback) {
            try {
                return md.has(key) ? md.getFloat(key) : fallback;
            } catch (RuntimeException e) {
                throw new ModelException(source + ": " + key + " is not a number (" + md.get(key) + ")");
            }
        }

        /** The key's value as a string. */
        String string(Metadata md, String key) {
            try {
                return md.getString(key);
            } catch (RuntimeException e) {
                throw new ModelException(source + ": " + key + " is not a string (" + md.get(key) + ")");
            }
        }

        /** The key's value, or {@code fallback} when it is absent, within [min, max]. */
        int range(Metadata md, String key, int fallback, int min, int max) {
            long v;
            try {
                v = md.has(key) ? md.getLong(key) : fallback;
            } catch (RuntimeException e) {
                throw new ModelException(source + ": " + key + " is not an integer (" + md.get(key) + ")");
            }
            if (v < min || v > max) throw new ModelException(source + ": " + key + " is " + v + "; Ternion takes " + min + " to " + max);
            return (int) v;
        }
    }
}
