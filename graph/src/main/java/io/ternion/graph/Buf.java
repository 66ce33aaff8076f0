package io.ternion.graph;

/**
 * An activation buffer: one row of {@code width} floats per token of the batch, or a single row
 * ({@code lastOnly}: the last token's, for the head).
 */
public record Buf(String name, int width, boolean lastOnly) {
    /** Rows in use for a batch of {@code n} tokens. */
    public int rows(int n) {
        return lastOnly ? 1 : n;
    }
}
