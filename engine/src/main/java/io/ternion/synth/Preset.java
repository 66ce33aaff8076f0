package io.ternion.synth;

import io.ternion.gguf.GgmlType;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The shape of a real model (or a tiny one of the same architecture) for {@link Synth}: enough to
 * write a file with the real tensor names, shapes and metadata, filled with random weights.
 */
public record Preset(String name, String architecture, int dim, int layers, int heads, int kvHeads, int headDim,
                     int ffnDim, int vocabSize, int contextLength, float ropeTheta, float rmsEps,
                     Set<GgmlType> types, GgmlType embeddingType, boolean tiedOutput, String about) {

    public static final Map<String, Preset> ALL = byName(
            new Preset("bitnet-2b4t", "bitnet-b1.58", 2560, 30, 20, 5, 128, 6912, 128256, 4096, 500000f, 1e-5f,
                    Set.of(GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0), GgmlType.F16, true,
                    "BitNet b1.58 2B4T: 2.4 B parameters, F16 tied embedding"),
            new Preset("bonsai-1.7b", "qwen3", 2048, 28, 16, 8, 128, 6144, 151936, 32768, 1000000f, 1e-6f,
                    Set.of(GgmlType.Q1_0), GgmlType.Q1_0, true, "PrismML Bonsai 1.7B (Qwen3-1.7B), Q1_0 everywhere, tied head"),
            new Preset("bonsai-8b", "qwen3", 4096, 36, 32, 8, 128, 12288, 151936, 65536, 1000000f, 1e-6f,
                    Set.of(GgmlType.Q1_0), GgmlType.Q1_0, false, "PrismML Bonsai 8B (Qwen3-8B), Q1_0 everywhere, own output head"),
            // Ternary Bonsai: the 1-bit Bonsai shapes (Qwen3's), Q2_0 everywhere in blocks of 64 or 128.
            new Preset("ternary-bonsai-1.7b", "qwen3", 2048, 28, 16, 8, 128, 6144, 151936, 32768, 1000000f, 1e-6f,
                    Set.of(GgmlType.Q2_0, GgmlType.Q2_0_128), null, true,
                    "PrismML Ternary Bonsai 1.7B (Qwen3-1.7B), Q2_0 everywhere, tied head"),
            new Preset("ternary-bonsai-4b", "qwen3", 2560, 36, 32, 8, 128, 9728, 151936, 40960, 1000000f, 1e-6f,
                    Set.of(GgmlType.Q2_0, GgmlType.Q2_0_128), null, true,
                    "PrismML Ternary Bonsai 4B (Qwen3-4B), Q2_0 everywhere, tied head"),
            new Preset("ternary-bonsai-8b", "qwen3", 4096, 36, 32, 8, 128, 12288, 151936, 65536, 1000000f, 1e-6f,
                    Set.of(GgmlType.Q2_0, GgmlType.Q2_0_128), null, false,
                    "PrismML Ternary Bonsai 8B (Qwen3-8B), Q2_0 everywhere, own output head"),
            new Preset("falcon3-1b-1.58", "llama", 2048, 18, 8, 4, 256, 8192, 131072, 8192, 1000042f, 1e-6f,
                    Set.of(GgmlType.TQ2_0, GgmlType.TQ1_0, GgmlType.I2_S), GgmlType.F16, false,
                    "Falcon3-1B-Instruct-1.58bit (llama architecture), F16 embedding and output"),
            tiny("tiny-bitnet-b1.58", "bitnet-b1.58", Set.of(GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0), GgmlType.F16, true),
            tiny("tiny-bitnet", "bitnet", Set.of(GgmlType.TQ1_0, GgmlType.TQ2_0), GgmlType.F16, true),
            tiny("tiny-llama", "llama", Set.of(GgmlType.TQ2_0, GgmlType.TQ1_0, GgmlType.I2_S), GgmlType.F16, false),
            tiny("tiny-qwen3", "qwen3", Set.of(GgmlType.Q1_0), GgmlType.Q1_0, true),
            tiny("tiny-ternary-bonsai", "qwen3", Set.of(GgmlType.Q2_0, GgmlType.Q2_0_128), null, true));

    private static Map<String, Preset> byName(Preset... presets) {
        Map<String, Preset> m = new java.util.LinkedHashMap<>();
        for (Preset p : presets) m.put(p.name(), p);
        return java.util.Collections.unmodifiableMap(m);
    }

    private static Preset tiny(String name, String arch, Set<GgmlType> types, GgmlType embd, boolean tied) {
        return new Preset(name, arch, 256, 2, 4, 2, 64, 512, 512, 256, arch.equals("llama") ? 10000f : 500000f, 1e-5f,
                types, embd, tied, "a few MB of " + arch + " for tests");
    }

    /** Preset names, real models first (as listed above). */
    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    /** The type of token_embd (and of output, when not tied) in a file whose matrices are {@code weights}. */
    public GgmlType embeddingType(GgmlType weights) { return embeddingType != null ? embeddingType : weights; }

    public int qDim() { return heads * headDim; }
    public int kvDim() { return kvHeads * headDim; }
}
