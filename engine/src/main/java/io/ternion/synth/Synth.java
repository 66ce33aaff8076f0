package io.ternion.synth;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufWriter;
import io.ternion.graph.Log;
import io.ternion.graph.Progress;
import io.ternion.tokenizer.TokenType;
import io.ternion.tokenizer.Vocabulary;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a model with random weights in a real model's shapes, tensor names and metadata, quantized
 * the way the real converters do: ternary matrices by absmean (scale s = mean|W|, values
 * round(W/s) clamped to {-1, 0, 1} times s), Q1_0 by sign with mean|x| per block, Q2_0 by rounding
 * to −1, 0, +1 of max|x| per block. Presets of architecture {@code bitnet} store unit ternary codes
 * and a separate {@code .scale} tensor per matrix (a layout upstream llama.cpp's loader takes); the
 * others fold the scale into the weights, as the converters do. Tensors are generated one at a
 * time as the file is written, so a 2B-parameter model needs no more memory than its largest tensor.
 */
public final class Synth {
    private Synth() {}

    /** GGUF {@code general.file_type} values for the weight types (llama.cpp's, and the forks' 40). */
    private static int fileType(GgmlType t) {
        return switch (t) {
            case TQ1_0 -> 36;
            case TQ2_0 -> 37;
            case I2_S, Q1_0 -> 40;
            // LLAMA_FTYPE_MOSTLY_Q2_0, as the PrismML fork writes it (peer-cases README).
            case Q2_0, Q2_0_128 -> 41;
            default -> throw new IllegalArgumentException("no synthetic models of type " + t);
        };
    }

    /**
     * @param vocabulary a real tokenizer to carry, or null for a small built-in one padded to the preset's size
     */
    public static void write(Preset p, GgmlType type, long seed, Vocabulary vocabulary, Path out) throws IOException {
        write(p, type, seed, vocabulary, null, out);
    }

    /** As {@link #write(Preset, GgmlType, long, Vocabulary, Path)}, carrying the tokenizer's chat template too (null: none). */
    public static void write(Preset p, GgmlType type, long seed, Vocabulary vocabulary, String chatTemplate, Path out) throws IOException {
        write(p, type, seed, vocabulary, chatTemplate, 0f, out);
    }

    /**
     * As {@link #write(Preset, GgmlType, long, Vocabulary, String, Path)}, with YaRN rope scaling by
     * {@code yarnFactor} over the preset's context (0: none), written as llama.cpp's converter writes
     * it for a Qwen3 whose config.json has {@code rope_scaling: {type: yarn, factor,
     * original_max_position_embeddings}}: the context length stays the trained one.
     */
    public static void write(Preset p, GgmlType type, long seed, Vocabulary vocabulary, String chatTemplate, float yarnFactor, Path out)
            throws IOException {
        write(p, type, seed, vocabulary, chatTemplate, yarnFactor, null, out);
    }

    /**
     * As {@link #write(Preset, GgmlType, long, Vocabulary, String, float, Path)}, under architecture
     * {@code arch} (null: the preset's rule below). Only a {@code bitnet-b1.58} preset may be written as
     * {@code bitnet} (or as itself): bitnet.cpp's 2024 fork reads I2_S only under {@code bitnet}, so an
     * I2_S file written that way is one both engines run, as the same SiLU model.
     */
    public static void write(Preset p, GgmlType type, long seed, Vocabulary vocabulary, String chatTemplate, float yarnFactor, String arch,
            Path out) throws IOException {
        if (arch != null && !(arch.equals(p.architecture()) || p.architecture().equals("bitnet-b1.58") && arch.equals("bitnet"))) {
            throw new IllegalArgumentException("preset " + p.name() + " is written as " + p.architecture()
                    + (p.architecture().equals("bitnet-b1.58") ? " or bitnet" : "") + ", not " + arch);
        }
        if (yarnFactor != 0 && !(yarnFactor > 1 && yarnFactor <= 1024)) throw new IllegalArgumentException("a YaRN factor must be above 1 (up to 1024), not " + yarnFactor);
        if (!p.types().contains(type)) {
            throw new IllegalArgumentException("preset " + p.name() + " comes in " + p.types().stream().map(t -> t.name().toLowerCase()).sorted().toList()
                    + ", not " + type.name().toLowerCase());
        }
        // The real 2B4T file is bitnet-b1.58 with I2_S, which only bitnet.cpp reads (with squared ReLU, as
        // Ternion does). TQ1_0 and TQ2_0 of that shape go out as upstream llama.cpp converts BitNet
        // models, arch 'bitnet', so that llama.cpp loads them; and every peer runs 'bitnet' with a
        // SiLU-gated FFN (bitnet.cpp's build_bitnet, upstream at the peer cases' snapshot; newer upstream
        // reads bitnet.hidden_activation but maps no name to squared ReLU), as Ternion does without that
        // key. So such a file is a SiLU model everywhere, rather than 2B4T's ReLU² in Ternion alone; the
        // cost per token is the same.
        if (arch == null) arch = p.architecture().equals("bitnet-b1.58") && type != GgmlType.I2_S ? "bitnet" : p.architecture();
        // Presets of 'bitnet' itself (tiny-bitnet) carry unit codes and a .scale per matrix, the layout
        // upstream's loader takes optionally; the 2B4T shape keeps each scale in its blocks, as upstream's
        // converter writes it. Both load in every peer.
        boolean unitCodesAndScales = p.architecture().equals("bitnet");
        Vocabulary vocab = vocabulary != null ? padded(vocabulary, p) : builtin(p.vocabSize());

        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", arch);
        w.putString("general.name", "ternion synth " + p.name() + " " + type.name().toLowerCase() + " seed " + seed);
        w.putUInt32("general.file_type", fileType(type));
        w.putUInt32("general.quantization_version", 2);
        String a = arch + ".";
        w.putUInt32(a + "vocab_size", p.vocabSize());
        w.putUInt32(a + "context_length", p.contextLength());
        w.putUInt32(a + "embedding_length", p.dim());
        w.putUInt32(a + "block_count", p.layers());
        w.putUInt32(a + "feed_forward_length", p.ffnDim());
        w.putUInt32(a + "rope.dimension_count", p.headDim());
        w.putUInt32(a + "attention.head_count", p.heads());
        w.putUInt32(a + "attention.head_count_kv", p.kvHeads());
        if (p.headDim() != p.dim() / p.heads()) {
            w.putUInt32(a + "attention.key_length", p.headDim());
            w.putUInt32(a + "attention.value_length", p.headDim());
        }
        w.putFloat32(a + "attention.layer_norm_rms_epsilon", p.rmsEps());
        w.putFloat32(a + "rope.freq_base", p.ropeTheta());
        if (yarnFactor != 0) {
            w.putString(a + "rope.scaling.type", "yarn");
            w.putFloat32(a + "rope.scaling.factor", yarnFactor);
            w.putUInt32(a + "rope.scaling.original_context_length", p.contextLength());
        }
        vocab.writeTo(w);
        if (chatTemplate != null) w.putString("tokenizer.chat_template", chatTemplate);

        long[] counter = {0};
        GgmlType embd = p.embeddingType(type);
        w.addTensor("token_embd.weight", embd, new long[] {p.dim(), p.vocabSize()},
                () -> dense(embd, p.dim(), p.vocabSize(), seed, counter[0]++));
        for (int l = 0; l < p.layers(); l++) {
            String b = "blk." + l + ".";
            norm(w, b + "attn_norm.weight", p.dim(), seed, counter);
            ternary(w, b + "attn_q.weight", type, p.dim(), p.qDim(), seed, counter, unitCodesAndScales);
            ternary(w, b + "attn_k.weight", type, p.dim(), p.kvDim(), seed, counter, unitCodesAndScales);
            ternary(w, b + "attn_v.weight", type, p.dim(), p.kvDim(), seed, counter, unitCodesAndScales);
            if (p.architecture().equals("qwen3")) {
                norm(w, b + "attn_q_norm.weight", p.headDim(), seed, counter);
                norm(w, b + "attn_k_norm.weight", p.headDim(), seed, counter);
            }
            ternary(w, b + "attn_output.weight", type, p.qDim(), p.dim(), seed, counter, unitCodesAndScales);
            if (arch.startsWith("bitnet")) norm(w, b + "attn_sub_norm.weight", p.qDim(), seed, counter);
            norm(w, b + "ffn_norm.weight", p.dim(), seed, counter);
            ternary(w, b + "ffn_gate.weight", type, p.dim(), p.ffnDim(), seed, counter, unitCodesAndScales);
            ternary(w, b + "ffn_up.weight", type, p.dim(), p.ffnDim(), seed, counter, unitCodesAndScales);
            if (arch.startsWith("bitnet")) norm(w, b + "ffn_sub_norm.weight", p.ffnDim(), seed, counter);
            ternary(w, b + "ffn_down.weight", type, p.ffnDim(), p.dim(), seed, counter, unitCodesAndScales);
        }
        norm(w, "output_norm.weight", p.dim(), seed, counter);
        if (!p.tiedOutput()) {
            long i = counter[0]++;
            w.addTensor("output.weight", embd, new long[] {p.dim(), p.vocabSize()},
                    () -> dense(embd, p.dim(), p.vocabSize(), seed, i));
        }
        // Each tensor is generated as it is written, which takes minutes for the real shapes: a bar, cleared
        // at the end (the caller says what was written).
        long bytes = w.tensorBytes();
        Progress progress = bytes > SHOW_PROGRESS_ABOVE ? Progress.start("writing " + out.getFileName(), "wrote " + out.getFileName(), bytes,
                Progress.Unit.BYTES) : null;
        try {
            w.write(out, progress != null ? progress::advance : n -> { });
        } finally {
            if (progress != null) progress.clear();
        }
    }

    /** Models smaller than this (the tiny presets) are written too fast to need a bar. */
    private static final long SHOW_PROGRESS_ABOVE = 64L << 20;

    private static SplittableRandom random(long seed, long tensor) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + tensor);
    }

    /** Uniform in [-1, 1). */
    private static float uniform(SplittableRandom r) {
        return (r.nextInt() >> 8) * 0x1.0p-23f;
    }

    private static void norm(GgufWriter w, String name, int n, long seed, long[] counter) {
        long i = counter[0]++;
        w.addTensor(name, GgmlType.F32, new long[] {n}, () -> {
            SplittableRandom r = random(seed, i);
            float[] v = new float[n];
            for (int k = 0; k < n; k++) v[k] = 1 + 0.1f * uniform(r);
            return MemorySegment.ofArray(GgmlType.F32.quantize(v));
        });
    }

    private static MemorySegment dense(GgmlType type, int k, int n, long seed, long tensor) {
        SplittableRandom r = random(seed, tensor);
        float[] v = new float[Math.multiplyExact(k, n)];
        for (int i = 0; i < v.length; i++) v[i] = 0.05f * uniform(r);
        return MemorySegment.ofArray(type.quantize(v));
    }

    /** A ternary (or, for Q1_0, binary) matrix, absmean-quantized as the converters do (Q1_0 and Q2_0: by their reference quantizers). */
    private static void ternary(GgufWriter w, String name, GgmlType type, int k, int n, long seed, long[] counter, boolean unitCodesAndScale) {
        long i = counter[0]++;
        float[] scale = new float[1];
        w.addTensor(name, type, new long[] {k, n}, () -> {
            SplittableRandom r = random(seed, i);
            float[] v = new float[Math.multiplyExact(k, n)];
            for (int j = 0; j < v.length; j++) v[j] = 0.02f * uniform(r);
            // Q1_0: sign with mean|x| per block; Q2_0: −1, 0, +1 of max|x| per block (the reference quantizers).
            if (type == GgmlType.Q1_0 || type == GgmlType.Q2_0 || type == GgmlType.Q2_0_128) return MemorySegment.ofArray(type.quantize(v));
            double sum = 0;
            for (float x : v) sum += Math.abs(x);
            float s = (float) Math.max(sum / v.length, 1e-5);
            for (int j = 0; j < v.length; j++) {
                float q = Math.max(-1, Math.min(1, Math.round(v[j] / s)));
                v[j] = unitCodesAndScale ? q : q * s;
            }
            scale[0] = s;
            return MemorySegment.ofArray(type.quantize(v));
        });
        if (unitCodesAndScale) {
            // Written after the matrix, whose supplier has run by then and left its scale here.
            w.addTensor(name.replace(".weight", ".scale"), GgmlType.F32, new long[] {1},
                    () -> MemorySegment.ofArray(GgmlType.F32.quantize(scale)));
        }
    }

    /** Whose tokenizer a preset's real model has, in words. */
    private static String family(Preset p) {
        return switch (p.architecture()) {
            case "qwen3" -> "Qwen3 (151669 tokens; Bonsai uses it)";
            case "bitnet-b1.58" -> "Llama 3 (128256 tokens; BitNet b1.58 2B4T uses it)";
            case "llama" -> p.vocabSize() == 131072 ? "Falcon3 (131072 tokens)" : "the model this preset copies";
            default -> "the model this preset copies";
        };
    }

    /** A real vocabulary padded with unused tokens to the model's size, as converters pad Qwen's. */
    static Vocabulary padded(Vocabulary v, Preset p) {
        int size = p.vocabSize();
        if (v.size() > size) {
            throw new IllegalArgumentException("the tokenizer has " + v.size() + " tokens, more than the " + size + " rows of " + p.name()
                    + "'s embedding and output: give the tokenizer.json of " + family(p) + ", or no --tokenizer (a small built-in one)");
        }
        // Converters pad a vocabulary by a few hundred tokens at most (Qwen's 151669 to 151936): far fewer means another family.
        if (v.size() < 0.9 * size) {
            Log.info("synth: the tokenizer has " + v.size() + " tokens and " + p.name() + " has " + size + " rows: the rest become padding"
                    + " tokens; is it the tokenizer of " + family(p) + "?");
        }
        if (v.size() == size) return v;
        String[] tokens = new String[size];
        int[] types = new int[size];
        float[] scores = v.hasScores() ? new float[size] : null;
        for (int i = 0; i < size; i++) {
            tokens[i] = i < v.size() ? v.token(i) : "[PAD" + i + "]";
            types[i] = i < v.size() ? v.type(i) : TokenType.UNUSED;
            if (scores != null) scores[i] = i < v.size() ? v.score(i) : 0;
        }
        return new Vocabulary(v.model(), v.pre(), tokens, scores, types, v.merges(), v.bos(), v.eos(), v.eot(),
                v.unknown(), v.padding(), v.addBosOrNull(), v.addSpacePrefix());
    }

    /**
     * A SentencePiece vocabulary of {@code size} tokens: unknown, BOS, EOS, the 256 byte tokens, then
     * filler pieces. Any text encodes (by byte fallback) and decodes back.
     */
    static Vocabulary builtin(int size) {
        String[] tokens = new String[size];
        int[] types = new int[size];
        float[] scores = new float[size];
        tokens[0] = "<unk>"; types[0] = TokenType.UNKNOWN;
        tokens[1] = "<s>"; types[1] = TokenType.CONTROL;
        tokens[2] = "</s>"; types[2] = TokenType.CONTROL;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = TokenType.BYTE;
        }
        for (int i = 259; i < size; i++) {
            tokens[i] = "▁w" + Integer.toString(i - 259, 36);
            types[i] = TokenType.NORMAL;
            scores[i] = -(i - 259);
        }
        return new Vocabulary(Vocabulary.Model.SENTENCEPIECE, "default", tokens, scores, types, null, 1, 2,
                Vocabulary.NONE, 0, Vocabulary.NONE, true, true);
    }
}
