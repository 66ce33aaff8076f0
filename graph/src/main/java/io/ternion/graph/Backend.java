package io.ternion.graph;

/**
 * Where a model runs. A backend compiles a {@link Graph} once (binding weights and allocating
 * activations and the KV cache) and then runs it per batch of tokens. Implementations keep their
 * own types to themselves; model code sees only this interface.
 */
public interface Backend extends AutoCloseable {
    String name();

    /** What it runs on, in words: the CPU and its threads, or the GPU's name and driver. */
    default String device() { return name(); }

    /**
     * The graph rewritten by the {@link Fusions} this backend runs faster, with the same results;
     * callers compile {@code compile(fuse(graph), ...)}. A backend compiles the unfused graph too.
     */
    default Graph fuse(Graph graph) { return graph; }

    /**
     * Prepares the graph as it is (see {@link #fuse}) for {@code slots} sequences of up to
     * {@code contextLength} positions each (the KV cache holds {@code slots × contextLength}
     * positions) and steps of up to {@code maxBatch} tokens.
     */
    CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots);

    /** {@link #compile(Graph, int, int, int)} for one sequence at a time. */
    default CompiledModel compile(Graph graph, int contextLength, int maxBatch) {
        return compile(graph, contextLength, maxBatch, 1);
    }

    @Override
    default void close() {}
}
