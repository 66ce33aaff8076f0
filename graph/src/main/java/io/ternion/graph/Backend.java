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

    /**
     * {@link #compile(Graph, int, int, int)} with a KV cache of the given types. A backend that
     * stores other types than F16 overrides this; the default refuses them, naming the type, as a
     * {@link BackendUnavailableException} (so {@code --backend auto} moves on to the CPU).
     */
    default CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots, KvTypes kv) {
        if (!kv.isF16()) {
            throw new BackendUnavailableException("the " + name() + " backend has no " + (kv.key() != KvType.F16 ? kv.key() : kv.value())
                    + " KV cache (it stores f16 only; the cpu and reference backends store " + KvType.names() + ")", null);
        }
        return compile(graph, contextLength, maxBatch, slots);
    }

    /** {@link #compile(Graph, int, int, int)} for one sequence at a time. */
    default CompiledModel compile(Graph graph, int contextLength, int maxBatch) {
        return compile(graph, contextLength, maxBatch, 1);
    }

    @Override
    default void close() {}
}
