package io.ternion.graph.conformance;

import java.util.Locale;

/**
 * The ops of the {@link ConformanceTable}, one per kernel a backend provides. Each backend's
 * conformance test switches over all of them, so a new op that a backend does not handle (or says
 * it has no kernel for) fails to compile rather than at run time.
 */
public enum KernelOp {
    /** W (n rows × k columns of the case's type) times {@code batch} vectors: decode (1) and the prompt path (&gt;1). */
    MATMUL,
    /** One row of such a W, decoded; must equal the scalar dequantize exactly. */
    GET_ROW,
    RMS_NORM, RMS_NORM_UNWEIGHTED, SOFTMAX, SWIGLU, RELU2_GLU, ADD, MUL,
    /** Interleaved pairs (ggml's default) and NEOX halves. */
    ROPE, ROPE_NEOX,
    /** Query heads sharing as many KV heads (ratio 1) or a quarter as many (ratio 4). */
    ATTENTION, ATTENTION_GQA4,
    /** A context shift of a KV cache (llama.cpp's K-shift): keys re-rotated by rope, interleaved pairs or NEOX halves. */
    KV_SHIFT, KV_SHIFT_NEOX;

    /** The name in test reports, ggml's spelling. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
