package io.ternion.graph;

import java.util.List;

/**
 * One forward step of a model as a list of {@link Op}s over named activation {@link Buf}fers: what
 * a backend compiles once and then runs per batch of tokens. Model code builds it (the engine's
 * {@code LlamaGraph}); backends only read it; {@link Fusions} rewrite it.
 *
 * @param cache  the shape of the KV cache the graph's attention ops share
 * @param logits the buffer whose single row is the step's output
 */
public record Graph(Cache cache, List<Buf> buffers, List<Op> ops, Buf logits) {

    public Graph {
        buffers = List.copyOf(buffers);
        ops = List.copyOf(ops);
    }

    /**
     * The KV cache: {@code layers} of {@code kvHeads} × {@code headDim} per position; {@code heads}
     * query heads read it (a backend sizes attention scratch by them).
     */
    public record Cache(int layers, int heads, int kvHeads, int headDim) {
        public int kvDim() { return kvHeads * headDim; }
    }

    /** The same graph with other ops (what a fusion pass returns). */
    public Graph withOps(List<Op> newOps) {
        return new Graph(cache, buffers, newOps, logits);
    }
}
