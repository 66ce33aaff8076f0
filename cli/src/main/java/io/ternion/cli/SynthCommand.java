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
            description = "bitnet-2b4t, bonsai-1.7b, bonsai-8b, falcon3-1b-1.58, tiny-bitnet-b1.58, tiny-bitnet, tiny-llama, tiny-qwen3.")
    String preset;

    @Option(names = "--type", paramLabel = "TYPE", required = true, description = "Weight type: i2_s, tq1_0, tq2_0 or q1_0 (as the preset allows).")
    String type;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Carry this tokenizer.json's vocabulary (default: a small built-in one).")
    Path tokenizer;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "The GGUF file to write.")
    Path output;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Preset p = Preset.ALL.get(preset);
        if (p == null) throw new IllegalArgumentException("unknown preset '" + preset + "' (presets: " + String.join(", ", Preset.names()) + ")");
        GgmlType t = GgmlType.parse(type);
        // A tokenizer.json carries its vocabulary and, from tokenizer_config.json beside it, the chat template.
        HfTokenizerJson.Result tok = tokenizer != null ? HfTokenizerJson.read(tokenizer) : null;
        long t0 = System.nanoTime();
        Synth.write(p, t, seed, tok != null ? tok.vocabulary() : null, tok != null ? tok.chatTemplate() : null, output);
        PrintWriter err = spec.commandLine().getErr();
        err.printf(Locale.ROOT, "ternion: wrote %s (%s, %s, %.1f MiB) in %.1f s%n", output, p.about(), t.name(),
                Files.size(output) / 1048576.0, (System.nanoTime() - t0) / 1e9);
        err.flush();
        return 0;
    }
}
