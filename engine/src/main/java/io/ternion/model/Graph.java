package io.ternion.model;

import io.ternion.gguf.Tensor;
import java.util.List;

/**
 * One forward step of a model as a list of ops over named activation buffers: what a backend
 * compiles once and then runs per batch of tokens. Buffers hold one row of {@code width} floats
 * per token of the batch, or a single row ({@code lastOnly}: the last token's, for the head).
 */
public record Graph(ModelConfig config, List<Buf> buffers, List<Op> ops, Buf logits) {

    /** An activation buffer. */
    public record Buf(String name, int width, boolean lastOnly) {}

    /** The ops a backend implements; model code is only these. */
    public sealed interface Op {
        /** out[b] = row tokens[b] of the table. */
        record Embed(Tensor table, Buf out) implements Op {}
        /** out = in / rms(in) * weight, per row (in == out is allowed). */
        record RmsNorm(Buf in, Tensor weight, Buf out, float eps) implements Op {}
        /** RMSNorm of each head-sized slice of every row with one shared weight (Qwen3's q/k norms). */
        record HeadRmsNorm(Buf x, Tensor weight, int headDim, float eps) implements Op {}
        /** out[b] = W · in[b]. */
        record MatMul(Tensor weight, Buf in, Buf out) implements Op {}
        /** Rotary embedding of the first {@code dims} of each head, at each row's position. */
        record Rope(Buf x, int heads, int headDim, int dims, float theta, boolean neox) implements Op {}
        /** Store each row's K and V at its position in the layer's cache. */
        record StoreKv(int layer, Buf k, Buf v) implements Op {}
        /** Causal GQA attention of each row's query over the layer's cache up to its position. */
        record Attention(int layer, Buf q, Buf out, int heads, int kvHeads, int headDim) implements Op {}
        /** x *= the one value of {@code factor} (upstream BitNet's optional per-matrix {@code .scale} tensors). */
        record Scale(Buf x, Tensor factor) implements Op {}
        /** acc += x. */
        record Add(Buf acc, Buf x) implements Op {}
        /** out = act(gate) * up. */
        record Glu(ModelConfig.Activation activation, Buf gate, Buf up, Buf out) implements Op {}
        /** out = the last row of in. */
        record SelectLast(Buf in, Buf out) implements Op {}
    }
}
