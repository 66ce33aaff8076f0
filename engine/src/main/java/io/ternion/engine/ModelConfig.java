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
        boolean qkNorm) {

    /** Architectures Ternion runs; anything else is an error naming it. */
    static final java.util.List<String> SUPPORTED = java.util.List.of("llama", "bitnet", "bitnet-b1.58", "bitnet-25", "qwen3");

    public int qDim() { return heads * headDim; }
    public int kvDim() { return kvHeads * headDim; }

    /** The KV cache a graph of this model shares between its attention ops. */
    public Graph.Cache cache() { return new Graph.Cache(layers, heads, kvHeads, headDim); }

    public static ModelConfig from(GgufFile f) {
        Metadata md = f.metadata();
        String arch = f.architecture();
        if (arch == null) throw new ModelException(f.source() + ": no general.architecture key; is this a model file?");
        if (!SUPPORTED.contains(arch)) {
            throw new ModelException(f.source() + ": architecture '" + arch + "' is not supported (Ternion runs "
                    + String.join(", ", SUPPORTED) + ")");
        }
        String p = arch + ".";
        int dim = md.getInt(p + "embedding_length");
        int heads = md.getInt(p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        int headDim = md.getInt(p + "attention.key_length", heads > 0 ? dim / heads : 0);
        int layers = md.getInt(p + "block_count");
        int ffn = md.getInt(p + "feed_forward_length");
        if (dim <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || layers <= 0 || ffn <= 0 || heads % kvHeads != 0) {
            throw new ModelException(f.source() + ": inconsistent hyperparameters: embedding_length " + dim + ", heads "
                    + heads + ", kv heads " + kvHeads + ", head dim " + headDim + ", layers " + layers + ", ffn " + ffn);
        }
        int vocab = md.has(p + "vocab_size") ? md.getInt(p + "vocab_size")
                : md.has("tokenizer.ggml.tokens") ? md.getArray("tokenizer.ggml.tokens").length()
                : (int) (long) f.findTensor("token_embd.weight").map(t -> t.dim(1)).orElse(0L);
        boolean bitnet = arch.startsWith("bitnet");
        boolean neox = bitnet || arch.equals("qwen3");
        Activation act = switch (arch) {
            case "bitnet-b1.58", "bitnet-25" -> Activation.RELU_SQUARED;
            case "bitnet" -> md.getString(p + "hidden_activation", "silu").equals("relu2") ? Activation.RELU_SQUARED : Activation.SILU;
            default -> Activation.SILU;
        };
        return new ModelConfig(arch, dim, layers, heads, kvHeads, headDim, ffn, vocab,
                md.getInt(p + "context_length", 2048),
                md.getInt(p + "rope.dimension_count", headDim),
                md.getFloat(p + "rope.freq_base", 10000f),
                neox,
                md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f),
                act, bitnet, arch.equals("qwen3"));
    }
}
