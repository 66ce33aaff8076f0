package io.ternion.graph;

/** A graph bound to a backend, with its own KV cache. Not thread-safe: one generation at a time. */
public interface CompiledModel extends AutoCloseable {

    /**
     * Runs {@code tokens} at positions {@code startPos, startPos+1, ...} (their K/V are stored in the
     * cache) and writes the logits of the last one into {@code logits}. At most {@code maxBatch}
     * tokens per call; the positions must be within the context.
     */
    void forward(int[] tokens, int startPos, float[] logits);

    /**
     * {@link #forward}, returning the index of the largest logit (the lowest on ties), −1 when a
     * logit is not finite: greedy decoding.
     * A backend may take it where the logits are and not copy them back; {@code logits} then holds
     * nothing meaningful.
     */
    default int forwardArgmax(int[] tokens, int startPos, float[] logits) {
        forward(tokens, startPos, logits);
        return argmax(logits);
    }

    /**
     * The index of the largest value, the lowest on ties; −1 when a value is NaN or infinite (the
     * model's arithmetic went wrong, and no token is the answer).
     */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return allFinite(logits) ? best : -1;
    }

    /** Whether no value is NaN or infinite: one pass over the logits, next to a forward step's pass over the weights. */
    static boolean allFinite(float[] logits) {
        double sum = 0;
        for (float x : logits) sum += x * 0.0; // 0 for finite values, NaN for NaN and infinities
        return sum == 0;
    }

    int contextLength();

    /** The argument check every backend's {@link #forward} makes. */
    static void checkForward(int tokens, int startPos, int contextLength, int maxBatch) {
        if (tokens == 0 || tokens > maxBatch || startPos < 0 || startPos + tokens > contextLength) {
            throw new IllegalArgumentException(tokens + " tokens at position " + startPos + " do not fit (context "
                    + contextLength + ", batch " + maxBatch + ")");
        }
    }

    int maxBatch();

    /** Bytes this model holds beside the mapped weights (KV cache, activations, repacked weights). */
    long residentBytes();

    /** Bytes this model holds in a device's own memory (weights, KV cache, activations); 0 on the CPU. */
    default long deviceBytes() { return 0; }

    @Override
    default void close() {}
}
