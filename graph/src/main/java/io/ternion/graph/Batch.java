package io.ternion.graph;

import java.util.Arrays;

/**
 * One forward step's tokens, each of its own sequence at its own position, as llama.cpp's
 * {@code llama_batch}: row i is token {@code tokens[i]} of the sequence in KV slot {@code slots[i]}
 * at position {@code positions[i]}, and {@code outputs[i]} says whether its logits come back. Rows
 * of one slot must have rising positions; a row's K and V are stored at its position, and its
 * attention reads its own slot's positions up to and including it, so a prompt chunk of one
 * sequence and single decode tokens of others can share a step. A slot's positions past the ones a
 * step writes are simply never read again: keeping a prefix of a sequence and dropping the rest is
 * writing the next token at the prefix's length.
 */
public record Batch(int[] tokens, int[] positions, int[] slots, boolean[] outputs) {

    public Batch {
        if (tokens.length == 0) throw new IllegalArgumentException("a batch needs at least one token");
        if (positions.length != tokens.length || slots.length != tokens.length || outputs.length != tokens.length) {
            throw new IllegalArgumentException("a batch's tokens, positions, slots and outputs differ in length: " + tokens.length + ", "
                    + positions.length + ", " + slots.length + ", " + outputs.length);
        }
    }

    /** {@code tokens} of the sequence in {@code slot} at positions {@code startPos, startPos+1, ...}; the last row's logits come back. */
    public static Batch sequence(int[] tokens, int startPos, int slot) {
        int n = tokens.length;
        int[] positions = new int[n], slots = new int[n];
        boolean[] outputs = new boolean[n];
        for (int i = 0; i < n; i++) {
            positions[i] = startPos + i;
            slots[i] = slot;
        }
        if (n > 0) outputs[n - 1] = true;
        return new Batch(tokens, positions, slots, outputs);
    }

    public int size() { return tokens.length; }

    /** How many rows want their logits: the rows of the logits a forward step returns. */
    public int outputCount() {
        int count = 0;
        for (boolean o : outputs) if (o) count++;
        return count;
    }

    /** The rows that want their logits, in order. */
    public int[] outputRows() {
        int[] rows = new int[outputCount()];
        for (int i = 0, j = 0; i < outputs.length; i++) if (outputs[i]) rows[j++] = i;
        return rows;
    }

    /**
     * The argument check every backend's {@link CompiledModel#forward(Batch, float[])} makes: the batch
     * fits, every position is inside its slot's context, and each slot's positions rise.
     */
    public void check(int contextLength, int maxBatch, int slotCount) {
        if (size() > maxBatch) throw new IllegalArgumentException(size() + " tokens do not fit a batch of " + maxBatch);
        int[] last = new int[slotCount];
        Arrays.fill(last, -1);
        for (int i = 0; i < size(); i++) {
            int slot = slots[i], pos = positions[i];
            if (slot < 0 || slot >= slotCount) throw new IllegalArgumentException("slot " + slot + " of row " + i + " is not one of the " + slotCount + " slots");
            if (pos < 0 || pos >= contextLength) {
                throw new IllegalArgumentException("position " + pos + " of row " + i + " is outside the context of " + contextLength);
            }
            if (pos <= last[slot]) throw new IllegalArgumentException("positions of slot " + slot + " do not rise at row " + i + " (" + last[slot] + ", then " + pos + ")");
            last[slot] = pos;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Batch b && Arrays.equals(tokens, b.tokens) && Arrays.equals(positions, b.positions)
                && Arrays.equals(slots, b.slots) && Arrays.equals(outputs, b.outputs);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens) * 31 + Arrays.hashCode(positions);
    }

    @Override
    public String toString() {
        return "Batch" + Arrays.toString(tokens) + " at " + Arrays.toString(positions) + " in slots " + Arrays.toString(slots);
    }
}
