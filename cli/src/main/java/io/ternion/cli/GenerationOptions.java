package io.ternion.cli;

import io.ternion.engine.Model;
import io.ternion.engine.SamplerParams;
import io.ternion.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The model and sampling flags shared by {@code run} and {@code chat}, named as in llama.cpp. */
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

    @Option(names = "--device", paramLabel = "N", defaultValue = "-1",
            description = "GPU device index as `ternion devices` lists them; -1 picks the best (default: ${DEFAULT-VALUE}).")
    int device;

    SamplerParams sampler() {
        if (threads < 0) throw new IllegalArgumentException("-t must be >= 0, not " + threads);
        return new SamplerParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, seed);
    }

    Model load() throws IOException {
        if (contextSize < 0) throw new IllegalArgumentException("-c must be >= 0, not " + contextSize);
        if (batchSize <= 0) throw new IllegalArgumentException("-b must be positive, not " + batchSize);
        Tokenizer tok = tokenizer != null ? Tokenizer.load(tokenizer) : null;
        return Model.load(model != null ? model : Main.defaultModel(), new Model.Options(backend, threads, contextSize, batchSize, device), tok);
    }
}
