package io.ternion.graph;

/**
 * A graph bound to a backend, with a KV cache of {@link #slots()} sequences of up to
 * {@link #contextLength()} positions each. Not thread-safe: one forward step at a time (many
 * sequences share a step through a {@link Batch}).
 */
public interface CompiledModel extends AutoCloseable {

    /**
     * Runs one step ({@link Batch}: each token of its own slot at its own position; K and V are
     * stored in the cache) and writes the logits of the rows that want them, in order, into
     * {@code logits} (rows of the vocabulary's width). At most {@link #maxBatch()} tokens; checked
     * by {@link Batch#check}.
     */
    void forward(Batch batch, float[] logits);

    /**
     * Runs {@code tokens} of the sequence in slot 0 at positions {@code startPos, startPos+1, ...}
     * and writes the logits of the last one into {@code logits}.
     */
    default void forward(int[] tokens, int startPos, float[] logits) {
        forward(Batch.sequence(tokens, startPos, 0), logits);
    }

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
        return argmax(logits, 0, logits.length);
    }

    /** {@link #argmax(float[])} of {@code logits[from, from+length)}, as an index into that row. */
    static int argmax(float[] logits, int from, int length) {
        int best = 0;
        double nonFinite = 0;
        for (int i = 0; i < length; i++) {
            float x = logits[from + i];
            if (x > logits[from + best]) best = i;
            nonFinite += x * 0.0; // 0 for finite values, NaN for NaN and infinities
        }
        return nonFinite == 0 ? best : -1;
    }

    /** Whether no value is NaN or infinite: one pass over the logits, next to a forward step's pass over the weights. */
    static boolean allFinite(float[] logits) {
        double sum = 0;
        for (float x : logits) sum += x * 0.0; // 0 for finite values, NaN for NaN and infinities
        return sum == 0;
    }

    /**
     * llama.cpp's context shift (its K-shift) in one slot whose positions [0, length) are filled:
     * positions [keep, keep+drop) are removed and [keep+drop, length) move down to
     * [keep, length−drop); each moved key is rotated by −drop positions with the rotary embedding
     * its layer applied to it ({@link Graph#keyRopes}), so it reads as if computed there. Values
     * move unchanged, and keys and values keep what the dropped tokens contributed to them. The
     * next token then goes at position length−drop.
     */
    default void shift(int slot, int keep, int drop, int length) {
        throw new UnsupportedOperationException("this backend cannot shift its KV cache");
    }

    /** The argument check every backend's {@link #shift} makes. */
    static void checkShift(int slot, int keep, int drop, int length, int slots, int contextLength) {
        if (slot < 0 || slot >= slots) throw new IllegalArgumentException("slot " + slot + " is not one of the " + slots + " slots");
        if (keep < 0 || drop < 1 || length > contextLength || keep > length - drop) {
            throw new IllegalArgumentException("cannot drop " + drop + " positions after the first " + keep + " of " + length
                    + " (context " + contextLength + ")");
        }
    }

    /** Positions per slot. */
    int contextLength();

    /** Sequences the KV cache holds at once. */
    int slots();

    int maxBatch();

    /** Bytes this model holds beside the mapped weights (KV cache, activations, repacked weights). */
    long residentBytes();

    /** Bytes this model holds in a device's own memory (weights, KV cache, activations); 0 on the CPU. */
    default long deviceBytes() { return 0; }

    @Override
    default void close() {}
}
