package io.ternion.graph;

/**
 * An activation buffer: one row of {@code width} floats per token of the batch, or
 * ({@code perOutput}) one per token whose logits the batch wants, for the head.
 */
public record Buf(String name, int width, boolean perOutput) {
    /** Rows in use for a batch of {@code tokens} tokens of which {@code outputs} want logits. */
    public int rows(int tokens, int outputs) {
        return perOutput ? outputs : tokens;
    }
}
