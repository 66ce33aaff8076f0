package io.ternion.kernels.gpu;

import io.ternion.gguf.GgmlType;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Every kernel of {@code ternion.cl} by its full name, so that a name seen in a profile, a build log
 * or the .cl file greps to the Java that launches it. Most kernels there are stamped out per format
 * by macros ({@code MATVEC_FLOAT(q4_k)} defines {@code mv_q4_k}); their names are spelled out here
 * instead of being pasted together. The activation quantizers' names are fields of
 * {@link ClOps.Activations}. KernelNamesTest checks this table against the kernels ternion.cl
 * defines, both ways.
 */
final class KernelNames {
    private KernelNames() {}

    /**
     * The kernels of one weight type: {@code embed} reads a row of an embedding table,
     * {@code matVec} multiplies one token, {@code tiledMatMul} a prompt batch (TILE tokens per work-item).
     */
    record ForType(String embed, String matVec, String tiledMatMul) {}

    private static final Map<GgmlType, ForType> BY_TYPE = new EnumMap<>(GgmlType.class);

    static {
        BY_TYPE.put(GgmlType.F32,   new ForType("embed_f32",   "mv_f32",   "mm_f32"));
        BY_TYPE.put(GgmlType.F16,   new ForType("embed_f16",   "mv_f16",   "mm_f16"));
        BY_TYPE.put(GgmlType.BF16,  new ForType("embed_bf16",  "mv_bf16",  "mm_bf16"));
        BY_TYPE.put(GgmlType.Q8_0,  new ForType("embed_q8_0",  "mv_q8_0",  "mm_q8_0"));
        BY_TYPE.put(GgmlType.Q4_0,  new ForType("embed_q4_0",  "mv_q4_0",  "mm_q4_0"));
        BY_TYPE.put(GgmlType.Q4_K,  new ForType("embed_q4_k",  "mv_q4_k",  "mm_q4_k"));
        BY_TYPE.put(GgmlType.Q6_K,  new ForType("embed_q6_k",  "mv_q6_k",  "mm_q6_k"));
        BY_TYPE.put(GgmlType.I2_S,  new ForType("embed_i2_s",  "mv_i2_s",  "mm_i2_s"));
        BY_TYPE.put(GgmlType.TQ2_0, new ForType("embed_tq2_0", "mv_tq2_0", "mm_tq2_0"));
        BY_TYPE.put(GgmlType.TQ1_0, new ForType("embed_tq1_0", "mv_tq1_0", "mm_tq1_0"));
        BY_TYPE.put(GgmlType.Q1_0,  new ForType("embed_q1_0",  "mv_q1_0",  "mm_q1_0"));
        BY_TYPE.put(GgmlType.Q2_0,  new ForType("embed_q2_0",  "mv_q2_0",  "mm_q2_0"));
        BY_TYPE.put(GgmlType.Q2_0_128, new ForType("embed_q2_0_128", "mv_q2_0_128", "mm_q2_0_128"));
    }

    // The ops with one kernel for every type.
    static final String RMS_NORM = "rms_norm";
    static final String ROPE = "rope";
    static final String STORE_KV = "store_kv";
    static final String KV_SHIFT = "kv_shift";
    static final String ATTENTION = "attention";
    /** The KV cache types other than F16 for keys and values ({@link io.ternion.graph.KvType}). */
    static final String STORE_KV_TYPED = "store_kv_typed";
    static final String ATTENTION_KV_TYPED = "attention_kv_typed";
    static final String KV_SHIFT_TYPED = "kv_shift_typed";
    static final String ADD = "add";
    static final String SCALE = "scale";
    static final String GLU_SILU = "glu_silu";
    static final String GLU_RELU2 = "glu_relu2";
    static final String ARGMAX = "argmax";
    static final String SELECT_OUTPUTS = "select_outputs";

    private static final Set<String> OP_KERNELS = Set.of(RMS_NORM, ROPE, STORE_KV, KV_SHIFT, ATTENTION, ADD, SCALE, GLU_SILU, GLU_RELU2,
            ARGMAX, SELECT_OUTPUTS, STORE_KV_TYPED, ATTENTION_KV_TYPED, KV_SHIFT_TYPED);

    /** The weight types that have kernels here. */
    static Set<GgmlType> types() {
        return Collections.unmodifiableSet(BY_TYPE.keySet());
    }

    /** The kernels of weight type {@code t}; an error for a type without them. */
    static ForType of(GgmlType t) {
        ForType k = BY_TYPE.get(t);
        if (k == null) throw new OpenClException("the opencl backend has no kernels for " + t);
        return k;
    }

    /** Every kernel name ClOps can launch: the test holds it equal to the kernels in ternion.cl. */
    static Set<String> all() {
        Set<String> all = new LinkedHashSet<>();
        for (ForType k : BY_TYPE.values()) {
            all.add(k.embed());
            all.add(k.matVec());
            all.add(k.tiledMatMul());
        }
        for (ClOps.Activations a : ClOps.Activations.values()) {
            if (a.quantizeKernel != null) all.add(a.quantizeKernel);
            if (a.normQuantizeKernel != null) all.add(a.normQuantizeKernel);
        }
        all.addAll(OP_KERNELS);
        return all;
    }
}
