package io.ternion.graph;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The ops a backend implements; model code is only these. Each says which buffers it reads and
 * writes, the facts the {@link Fusions} passes are built on. The last three are what those passes
 * produce; a model never writes them, and every backend runs them (the reference as the ops they
 * replace).
 */
public sealed interface Op {
    /** out[b] = row tokens[b] of the table. */
    record Embed(Tensor table, Buf out) implements Op {}
    /** out = in / rms(in) * weight, per row (in == out is allowed). */
    record RmsNorm(Buf in, Tensor weight, Buf out, float eps) implements Op {}
    /** RMSNorm of each head-sized slice of every row with one shared weight (Qwen3's q/k norms). */
    record HeadRmsNorm(Buf x, Tensor weight, int headDim, float eps) implements Op {}
    /** out[b] = W · in[b]. */
    record MatMul(Tensor weight, Buf in, Buf out) implements Op {}
    /** Rotary embedding of the first {@code dims} of each head, at each row's position, with the model's {@link RopeScaling}. */
    record Rope(Buf x, int heads, int headDim, int dims, float theta, boolean neox, RopeScaling scaling) implements Op {
        public Rope {
            java.util.Objects.requireNonNull(scaling, "scaling (RopeScaling.NONE for none)");
        }

        /** Without scaling. */
        public Rope(Buf x, int heads, int headDim, int dims, float theta, boolean neox) {
            this(x, heads, headDim, dims, theta, neox, RopeScaling.NONE);
        }
    }
    /** Store each row's K and V at its position in its slot of the layer's cache. */
    record StoreKv(int layer, Buf k, Buf v) implements Op {}
    /** Causal GQA attention of each row's query over its slot of the layer's cache, up to its position. */
    record Attention(int layer, Buf q, Buf out, int heads, int kvHeads, int headDim) implements Op {}
    /** x *= the one value of {@code factor} (upstream BitNet's optional per-matrix {@code .scale} tensors). */
    record Scale(Buf x, Tensor factor) implements Op {}
    /** acc += x. */
    record Add(Buf acc, Buf x) implements Op {}
    /** out = act(gate) * up. */
    record Glu(Activation activation, Buf gate, Buf up, Buf out) implements Op {}
    /** out = the rows of in whose logits the batch wants, in order ({@link Batch#outputs}). */
    record SelectOutputs(Buf in, Buf out) implements Op {}

    /**
     * {@link RmsNorm} whose output is next read by matmuls of {@code readerType} weights
     * ({@link Fusions#normThenQuantize}): a backend that quantizes activations for that type may do
     * it in the same pass over the row.
     */
    record RmsNormQuantize(RmsNorm norm, GgmlType readerType) implements Op {}
    /** acc[b] += W · in[b]: a {@link MatMul} and the {@link Add} of its output ({@link Fusions#residualAdds}). */
    record MatMulAdd(Tensor weight, Buf in, Buf acc) implements Op {}
    /**
     * Matmuls on one input, in order ({@link Fusions#sharedInputs}): a backend prepares the input
     * once (quantizes it, hands it to its threads) for all of them. No member writes the input, and
     * no two write the same buffer.
     */
    record SharedInput(List<MatMul> matmuls) implements Op {
        public SharedInput {
            matmuls = List.copyOf(matmuls);
        }

        public Buf in() { return matmuls.getFirst().in(); }
    }

    /** The buffers this op reads (the KV cache is not a buffer). */
    default List<Buf> reads() {
        return switch (this) {
            case Embed e -> List.of();
            case RmsNorm r -> List.of(r.in());
            case HeadRmsNorm r -> List.of(r.x());
            case MatMul m -> List.of(m.in());
            case Rope r -> List.of(r.x());
            case StoreKv s -> List.of(s.k(), s.v());
            case Attention a -> List.of(a.q());
            case Scale s -> List.of(s.x());
            case Add a -> List.of(a.acc(), a.x());
            case Glu g -> List.of(g.gate(), g.up());
            case SelectOutputs s -> List.of(s.in());
            case RmsNormQuantize r -> r.norm().reads();
            case MatMulAdd m -> List.of(m.in(), m.acc());
            case SharedInput s -> List.of(s.in());
        };
    }

    /** The buffers this op writes (empty: only the KV cache). */
    default List<Buf> writes() {
        return switch (this) {
            case Embed e -> List.of(e.out());
            case RmsNorm r -> List.of(r.out());
            case HeadRmsNorm r -> List.of(r.x());
            case MatMul m -> List.of(m.out());
            case Rope r -> List.of(r.x());
            case StoreKv s -> List.of();
            case Attention a -> List.of(a.out());
            case Scale s -> List.of(s.x());
            case Add a -> List.of(a.acc());
            case Glu g -> List.of(g.out());
            case SelectOutputs s -> List.of(s.out());
            case RmsNormQuantize r -> r.norm().writes();
            case MatMulAdd m -> List.of(m.acc());
            case SharedInput s -> {
                List<Buf> out = new ArrayList<>();
                for (MatMul m : s.matmuls()) out.add(m.out());
                yield out;
            }
        };
    }

    /** Whether it writes a per-output buffer: the head's ops, which a step with no output skips. */
    default boolean writesOutputs() {
        return writes().stream().anyMatch(Buf::perOutput);
    }

    /** The weight matrices this op reads from the file (matmuls' and the embedding table), in order. */
    default List<Tensor> matrices() {
        return switch (this) {
            case Embed e -> List.of(e.table());
            case MatMul m -> List.of(m.weight());
            case MatMulAdd m -> List.of(m.weight());
            case SharedInput s -> s.matmuls().stream().map(MatMul::weight).toList();
            default -> List.of();
        };
    }
}
