package io.ternion.graph;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

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

    /**
     * The rotary embedding each layer's stored keys went through: per layer, the last {@link Op.Rope}
     * before that layer's {@link Op.StoreKv} on the buffer it stores as K, or null where the keys are
     * stored unrotated. A context shift re-rotates cached keys with exactly this record.
     */
    public Op.Rope[] keyRopes() {
        Op.Rope[] ropes = new Op.Rope[cache.layers()];
        Map<Buf, Op.Rope> latest = new HashMap<>();
        for (Op op : ops) {
            if (op instanceof Op.Rope r) latest.put(r.x(), r);
            else if (op instanceof Op.StoreKv s) ropes[s.layer()] = latest.get(s.k());
            // Anything else that writes a buffer leaves it unrotated until the next Rope on it.
            if (!(op instanceof Op.Rope)) for (Buf b : op.writes()) latest.remove(b);
        }
        return ropes;
    }

    /** The same graph with other ops (what a fusion pass returns). */
    public Graph withOps(List<Op> newOps) {
        return new Graph(cache, buffers, newOps, logits);
    }
}
