package io.ternion.model;

/**
 * Where a model runs. A backend compiles a {@link Graph} once (binding weights and allocating
 * activations and the KV cache) and then runs it per batch of tokens. Implementations keep their
 * own types to themselves; model code sees only this interface.
 */
public interface Backend extends AutoCloseable {
    String name();

    /** What it runs on, in words: the CPU and its threads, or the GPU's name and driver. */
    default String device() { return name(); }

    /** Prepares the graph for up to {@code contextLength} positions and batches of up to {@code maxBatch} tokens. */
    CompiledModel compile(Graph graph, int contextLength, int maxBatch);

    @Override
    default void close() {}
}
