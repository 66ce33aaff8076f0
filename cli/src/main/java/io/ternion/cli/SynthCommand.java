package io.ternion.cli;

import io.ternion.gguf.GgmlType;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import io.ternion.tokenizer.HfTokenizerJson;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ternion synth}: a model with random weights in a real model's shapes, for benchmarks and tests. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a GGUF with random ternary or binary weights in a real model's shapes.")
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--preset", paramLabel = "NAME", required = true,
            description = "bitnet-2b4t, bonsai-1.7b, bonsai-8b, ternary-bonsai-1.7b, ternary-bonsai-4b, ternary-bonsai-8b,"
                    + " falcon3-1b-1.58, tiny-bitnet-b1.58, tiny-bitnet, tiny-llama, tiny-qwen3, tiny-ternary-bonsai.")
    String preset;

    @Option(names = "--type", paramLabel = "TYPE", required = true, description = "Weight type: i2_s, tq1_0, tq2_0, q1_0 or q2_0 (as the preset allows).")
    String type;

    @Option(names = "--block", paramLabel = "N",
            description = "q2_0 only: 64 (upstream llama.cpp's blocks, *-Q2_0_g64.gguf; the default) or 128 (the PrismML fork's, *-Q2_0.gguf).")
    Integer block;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Carry this tokenizer.json's vocabulary (default: a small built-in one).")
    Path tokenizer;

    @Option(names = "--yarn", paramLabel = "FACTOR", defaultValue = "0",
            description = "Write YaRN rope scaling: the context stretches FACTOR times past the preset's, as in a Qwen3 converted with rope_scaling (default: none).")
    float yarn;

    @Option(names = "--arch", paramLabel = "NAME",
            description = "bitnet-b1.58 presets only: write architecture bitnet (a SiLU FFN in every engine) instead of the default"
                    + " (bitnet-b1.58 for i2_s, bitnet otherwise); an i2_s file so written is one that bitnet.cpp's 2024 fork also runs.")
    String arch;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "The GGUF file to write.")
    Path output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Preset p = Preset.ALL.get(preset);
        if (p == null) throw new IllegalArgumentException("unknown preset '" + preset + "' (presets: " + String.join(", ", Preset.names()) + ")");
        GgmlType t = weightType(GgmlType.parse(type), block);
        // A tokenizer.json carries its vocabulary and, from tokenizer_config.json beside it, the chat template.
        HfTokenizerJson.Result tok = tokenizer != null ? HfTokenizerJson.read(tokenizer) : null;
        long t0 = System.nanoTime();
        Synth.write(p, t, seed, tok != null ? tok.vocabulary() : null, tok != null ? tok.chatTemplate() : null, yarn, arch, output);
        PrintWriter err = spec.commandLine().getErr();
        err.printf(Locale.ROOT, "ternion: wrote %s (%s, %s, %.1f MiB) in %.1f s%n", output, p.about(), t.name(),
                Files.size(output) / 1048576.0, (System.nanoTime() - t0) / 1e9);
        err.flush();
        return 0;
    }

    /** Q2_0's two block sizes are two types of one id; --block picks one and means nothing for the others. */
    static GgmlType weightType(GgmlType parsed, Integer block) {
        boolean q2 = parsed == GgmlType.Q2_0 || parsed == GgmlType.Q2_0_128;
        if (block == null) return parsed;
        if (!q2) throw new IllegalArgumentException("--block applies to q2_0 only, not " + parsed.name().toLowerCase(Locale.ROOT));
        return switch (block) {
            case 64 -> GgmlType.Q2_0;
            case 128 -> GgmlType.Q2_0_128;
            default -> throw new IllegalArgumentException("--block must be 64 or 128 for q2_0, not " + block);
        };
    }
}
