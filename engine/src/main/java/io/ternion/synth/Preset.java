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

    public static final Map<String, Preset> ALL = Map.of(
            "bitnet-2b4t", new Preset("bitnet-2b4t", "bitnet-b1.58", 2560, 30, 20, 5, 128, 6912, 128256, 4096, 500000f, 1e-5f,
                    Set.of(GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0), GgmlType.F16, true,
                    "BitNet b1.58 2B4T: 2.4 B parameters, F16 tied embedding"),
            "bonsai-1.7b", new Preset("bonsai-1.7b", "qwen3", 2048, 28, 16, 8, 128, 6144, 151936, 32768, 1000000f, 1e-6f,
                    Set.of(GgmlType.Q1_0), GgmlType.Q1_0, true, "PrismML Bonsai 1.7B (Qwen3-1.7B), Q1_0 everywhere, tied head"),
            "bonsai-8b", new Preset("bonsai-8b", "qwen3", 4096, 36, 32, 8, 128, 12288, 151936, 65536, 1000000f, 1e-6f,
                    Set.of(GgmlType.Q1_0), GgmlType.Q1_0, false, "PrismML Bonsai 8B (Qwen3-8B), Q1_0 everywhere, own output head"),
            "falcon3-1b-1.58", new Preset("falcon3-1b-1.58", "llama", 2048, 18, 8, 4, 256, 8192, 131072, 8192, 1000042f, 1e-6f,
                    Set.of(GgmlType.TQ2_0, GgmlType.TQ1_0, GgmlType.I2_S), GgmlType.F16, false,
                    "Falcon3-1B-Instruct-1.58bit (llama architecture), F16 embedding and output"),
            "tiny-bitnet-b1.58", tiny("tiny-bitnet-b1.58", "bitnet-b1.58", Set.of(GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0), GgmlType.F16, true),
            "tiny-bitnet", tiny("tiny-bitnet", "bitnet", Set.of(GgmlType.TQ1_0, GgmlType.TQ2_0), GgmlType.F16, true),
            "tiny-llama", tiny("tiny-llama", "llama", Set.of(GgmlType.TQ2_0, GgmlType.TQ1_0, GgmlType.I2_S), GgmlType.F16, false),
            "tiny-qwen3", tiny("tiny-qwen3", "qwen3", Set.of(GgmlType.Q1_0), GgmlType.Q1_0, true));

    private static Preset tiny(String name, String arch, Set<GgmlType> types, GgmlType embd, boolean tied) {
        return new Preset(name, arch, 256, 2, 4, 2, 64, 512, 512, 256, arch.equals("llama") ? 10000f : 500000f, 1e-5f,
                types, embd, tied, "a few MB of " + arch + " for tests");
    }

    /** Preset names, real models first. */
    public static List<String> names() {
        return List.of("bitnet-2b4t", "bonsai-1.7b", "bonsai-8b", "falcon3-1b-1.58",
                "tiny-bitnet-b1.58", "tiny-bitnet", "tiny-llama", "tiny-qwen3");
    }

    public int qDim() { return heads * headDim; }
    public int kvDim() { return kvHeads * headDim; }
}
