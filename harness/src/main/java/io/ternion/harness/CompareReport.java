package io.ternion.harness;

import java.util.List;

/**
 * The result of {@code ternion compare}: one token sequence fed through the FP16 reference and
 * through each backend, and how far each backend's logits are from the reference's. The README
 * documents the JSON form; {@link #SCHEMA} changes when a field changes meaning or goes.
 */
public record CompareReport(String schema, ModelInfo model, Sequence sequence, Run reference, List<Run> backends,
                            List<Skipped> skipped) {
    public static final String SCHEMA = "ternion-compare/1";

    /** The prompt's tokens followed by those the reference chose greedily; every backend is fed all of them. */
    public record Sequence(int promptTokens, int generatedTokens, List<Integer> tokens) {}

    /**
     * One backend's run over the sequence.
     *
     * @param prefillTokensPerSecond the prompt in batches (the prompt path), after one warm-up pass
     * @param decodeTokensPerSecond  the whole sequence one token per forward call (the decode path)
     * @param hostBytes              what the backend holds beside the mapped file (KV cache, buffers, copies)
     * @param deviceBytes            what it holds in a device's memory (0 on the CPU)
     * @param perplexity             exp of the mean negative log-likelihood of tokens 1..L−1 under this
     *                               backend's logits
     * @param agreement              against the reference; null for the reference's own (baseline) run
     */
    public record Run(String backend, String device, double loadMs, double prefillTokensPerSecond, double decodeTokensPerSecond,
                      long hostBytes, long deviceBytes, double perplexity, Agreement agreement) {}
}
