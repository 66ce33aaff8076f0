package io.ternion.graph.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.ternion.gguf.GgmlType;
import io.ternion.graph.RopeScaling;
import io.ternion.graph.KvType;
import java.util.ArrayList;
import java.util.List;

/**
 * The conformance table (the idea of ggml's test-backend-ops): every op × type × shape a backend
 * must compute, with the tolerance it must meet against {@link Reference}. It is data only, so the
 * GPU backend's tests (through this module's test-jar) run the same rows. A new weight format is a
 * new kernel plus one line in {@link #MATMUL_TYPES}.
 *
 * <p>What k, n and batch mean per op:
 * <ul>
 *   <li>{@code matmul}: W is n rows × k columns of {@code type}; {@code batch} input vectors
 *       (1 = decode, &gt;1 = prompt path).
 *   <li>{@code get_row}: one row of such a W, decoded (must equal the scalar dequantize exactly).
 *   <li>{@code rms_norm}, {@code rms_norm_unweighted}, {@code softmax}, {@code swiglu},
 *       {@code relu2_glu}, {@code add}, {@code mul}: vectors of k floats, {@code batch} of them.
 *   <li>{@code rope}, {@code rope_neox}: batch heads of headDim k, the first n dims rotated, at
 *       each of {@link #ROPE_POSITIONS}; {@code rope_linear} and {@code rope_yarn} the same with
 *       {@link #ropeScaling}.
 *   <li>{@code attention}, {@code attention_gqa4}: {@link #ATTENTION_HEADS} query heads of headDim k
 *       sharing as many KV heads (ratio 1) or a quarter as many (ratio 4), {@code type} the cache
 *       (F32 or F16); n positions visible to the last query; batch 1 uses attend, batch &gt; 1
 *       attendBatch (queries at positions n−batch … n−1).
 *   <li>{@code kv_shift}, {@code kv_shift_neox}: an F16 cache of batch KV heads of headDim k whose
 *       keys were rotated over their first n dims; each of {@link #SHIFTS} moves a slot's
 *       positions down and must leave each moved key equal to {@link Reference#rope} of it at
 *       −drop, its value and the kept positions untouched.
 *   <li>{@code attention_kv}: as {@code attention_gqa4} (8 query heads on 2 KV heads) over a cache
 *       of the case's {@link Case#kv} type for keys and values; the reference reads what
 *       {@link KvType#decode} gives back ({@link #storedKeys}, {@link #storedAs}); every key carries a
 *       per-channel {@link #keyOffset}, centred away by every type but F16 (the first key is
 *       position 0's, stored in the same step as later ones), so the budget is the kernel's float
 *       arithmetic only (a rotated type scores rotated queries against rotated keys), 1e-5. How
 *       far each type is from the unquantized cache is the codec's tests' and {@code ternion
 *       compare}'s business.
 * </ul>
 *
 * <p>Tolerances are max|got − ref| / max|ref| over the output. The references run in double, so
 * the budget is the kernels' float arithmetic:
 * <ul>
 *   <li>matmul: float sums of k products in a different order than the reference. The error grows
 *       like √k·2⁻²⁴·Σ|w·x|, and relative to max|y| it is largest where there are few rows and their
 *       sums cancel: we measure up to 3e-6 (Q4_K, k = 2048, one row; F16, k = 67, one row) and
 *       ≤ 1e-6 elsewhere; 5e-5 leaves a 15× margin and is still far below what a wrong nibble,
 *       scale or tail gives (≥ 1e-3). Quantized types apply the block scale after the sum
 *       (d·Σq·x instead of Σ(d·q)·x), and Q4_0 and Q4_K apply their offsets and mins once per
 *       block through sums of x; that changes only roundings.
 *   <li>matmul of I2_S, TQ2_0, TQ1_0, Q1_0, Q2_0: the reference ({@link QuantizedReference}) quantizes x
 *       the way the format's reference engine does, so codes × activations are the same integers
 *       in both and exact; what differs is the engines' float arithmetic after them (I2_S: three
 *       roundings, (S − Σq)/s·w; TQ: one float product and add per 256-block; Q1_0, Q2_0: two per
 *       32-block). A few blocks of float sums cancel far less than the float-x path does, so the
 *       same 5e-5 applies with more margin; a wrong code, lane order, rounding of halves or scale
 *       moves single outputs by ≥ 1e-3 of max|y|.
 *   <li>rms_norm, glus, add, mul, rope: a handful of float roundings per element: 1e-6 (we
 *       measure ≤ 1e-7).
 *   <li>kv_shift: a key read from halves, rotated in float and stored as halves again: half a
 *       half's ulp, 2⁻¹¹ of max|ref| at most, plus the rotation's float roundings: 1e-3 (a wrong
 *       angle or pairing is off by the size of the keys).
 *   <li>softmax and attention: float exponentials and a float weighted sum over ≤ 100 positions:
 *       1e-5 (we measure ≤ 5e-7). An F16 cache is compared with a reference that reads the same
 *       halves, so it has the same budget.
 * </ul>
 */
public final class ConformanceTable {
    private ConformanceTable() {}

    /** {@code kv}: the KV cache type of the {@code attention_kv} rows (keys and values alike), F16 elsewhere. */
    public record Case(KernelOp op, GgmlType type, int k, int n, int batch, double tolerance, KvType kv) {
        public Case(KernelOp op, GgmlType type, int k, int n, int batch, double tolerance) {
            this(op, type, k, n, batch, tolerance, KvType.F16);
        }

        @Override
        public String toString() {
            return op + " " + (op == KernelOp.ATTENTION_KV ? kv.id() : type) + " k=" + k + " n=" + n + " batch=" + batch;
        }
    }

    /** The weight types of the matmul rows, with the row lengths to test for each. */
    static final List<TypeShapes> MATMUL_TYPES = List.of(
            // Element types: odd k catches vector tails; 768 is several full unrolled bodies.
            new TypeShapes(GgmlType.F32, 1, 67, 128, 768),
            new TypeShapes(GgmlType.F16, 1, 67, 128, 768),
            new TypeShapes(GgmlType.BF16, 1, 67, 128, 768),
            // 32-blocks: one block, an odd number of blocks (the unpaired last block), many.
            new TypeShapes(GgmlType.Q8_0, 32, 96, 256, 1024),
            new TypeShapes(GgmlType.Q4_0, 32, 96, 256, 1024),
            // 256-blocks: one, three, eight.
            new TypeShapes(GgmlType.Q4_K, 256, 768, 2048),
            new TypeShapes(GgmlType.Q6_K, 256, 768, 2048),
            // Quantized activations: one block, an odd number of blocks (I2_S's scalar tail past the
            // last whole vector), the BitNet 2B4T width.
            new TypeShapes(GgmlType.I2_S, 128, 384, 2560),
            new TypeShapes(GgmlType.Q1_0, 128, 384, 2560),
            // Q2_0 in both block sizes: one block, an odd number, the Bonsai 1.7B width.
            new TypeShapes(GgmlType.Q2_0, 64, 192, 2048),
            new TypeShapes(GgmlType.Q2_0_128, 128, 384, 2048),
            new TypeShapes(GgmlType.TQ2_0, 256, 512, 2560),
            new TypeShapes(GgmlType.TQ1_0, 256, 512, 2560));

    record TypeShapes(GgmlType type, int... ks) {}

    /**
     * Row counts: one, odd, more than 32. Each type also gets 130 rows at k = 256 with batch 7, which
     * spans three prompt-path tiles of 64 rows and leaves partial 4×4 groups of rows and vectors,
     * and 300 rows (several stripes of the packed kernels on 3 threads).
     */
    static final int[] MATMUL_ROWS = {1, 7, 33};
    static final int[] MATMUL_BATCHES = {1, 5};

    public static final int[] ROPE_POSITIONS = {0, 1, 37, 4095};
    public static final int ATTENTION_HEADS = 8;
    /** The context shifts each kv_shift row runs: {keep, drop, length} of a slot's positions. */
    public static final int[][] SHIFTS = {{3, 11, 40}, {0, 1, 9}, {5, 30, 36}};

    /**
     * The scaling of the rope rows: none for rope and rope_neox; for rope_linear a factor of 4;
     * for rope_yarn a factor of 4 over an original context of 1024 with an attn_factor of 0.9 (so
     * at 64 rotated dims and base 10000 the ramp runs over pairs 5 to 18 of 32, and position 4095 is
     * past the original context), the betas at llama.cpp's defaults.
     */
    public static RopeScaling ropeScaling(KernelOp op) {
        return switch (op) {
            case ROPE_LINEAR -> RopeScaling.linear(4f);
            case ROPE_YARN -> new RopeScaling(0.25f, 1f, 0.9f, 32f, 1f, 1024);
            default -> RopeScaling.NONE;
        };
    }

    /** Whether a rope row pairs NEOX halves (else interleaved pairs). */
    public static boolean ropeNeox(KernelOp op) {
        return op == KernelOp.ROPE_NEOX || op == KernelOp.ROPE_YARN;
    }

    public static final List<Case> CASES = build();

    private static List<Case> build() {
        List<Case> c = new ArrayList<>();
        for (TypeShapes ts : MATMUL_TYPES) {
            for (int k : ts.ks) {
                for (int n : MATMUL_ROWS) {
                    for (int batch : MATMUL_BATCHES) c.add(new Case(KernelOp.MATMUL, ts.type, k, n, batch, 5e-5));
                }
                c.add(new Case(KernelOp.GET_ROW, ts.type, k, 7, 1, 0));
            }
            int k = Math.max(256, ts.type.blockSize);
            c.add(new Case(KernelOp.MATMUL, ts.type, k, 130, 7, 5e-5));
            // Five panels of 64 rows, the last one partial: on 3 threads three stripes of the packed
            // layouts (2, 2 and 1 panels), on 1 thread one.
            c.add(new Case(KernelOp.MATMUL, ts.type, k, 300, 1, 5e-5));
            c.add(new Case(KernelOp.MATMUL, ts.type, k, 300, 3, 5e-5));
        }
        for (int k : new int[] {1, 17, 2560}) {
            c.add(new Case(KernelOp.RMS_NORM, GgmlType.F32, k, 0, 2, 1e-6));
            c.add(new Case(KernelOp.RMS_NORM_UNWEIGHTED, GgmlType.F32, k, 0, 1, 1e-6));
            c.add(new Case(KernelOp.SWIGLU, GgmlType.F32, k, 0, 1, 1e-6));
            c.add(new Case(KernelOp.RELU2_GLU, GgmlType.F32, k, 0, 1, 1e-6));
            c.add(new Case(KernelOp.ADD, GgmlType.F32, k, 0, 1, 1e-6));
            c.add(new Case(KernelOp.MUL, GgmlType.F32, k, 0, 1, 1e-6));
        }
        for (int k : new int[] {1, 7, 1000}) c.add(new Case(KernelOp.SOFTMAX, GgmlType.F32, k, 0, 2, 1e-5));
        for (KernelOp op : new KernelOp[] {KernelOp.ROPE, KernelOp.ROPE_NEOX, KernelOp.ROPE_LINEAR, KernelOp.ROPE_YARN}) {
            c.add(new Case(op, GgmlType.F32, 64, 64, 3, 1e-6));
            c.add(new Case(op, GgmlType.F32, 128, 32, 2, 1e-6));
            c.add(new Case(op, GgmlType.F32, 6, 6, 1, 1e-6));
        }
        for (KernelOp op : new KernelOp[] {KernelOp.ATTENTION, KernelOp.ATTENTION_GQA4}) {
            for (GgmlType cacheType : new GgmlType[] {GgmlType.F32, GgmlType.F16}) {
                for (int positions : new int[] {1, 7, 100}) c.add(new Case(op, cacheType, 64, positions, 1, 1e-5));
                c.add(new Case(op, cacheType, 72, 40, 1, 1e-5));
                c.add(new Case(op, cacheType, 64, 9, 4, 1e-5));
                c.add(new Case(op, cacheType, 64, 4, 4, 1e-5));
            }
        }
        for (KernelOp op : new KernelOp[] {KernelOp.KV_SHIFT, KernelOp.KV_SHIFT_NEOX}) {
            c.add(new Case(op, GgmlType.F16, 64, 64, 2, 1e-3));
            c.add(new Case(op, GgmlType.F16, 64, 32, 1, 1e-3));
            c.add(new Case(op, GgmlType.F16, 6, 4, 3, 1e-3));
        }
        // Each KV cache type: head sizes of 128 (four blocks), 80 (a short last block; Hadamard
        // blocks of 16) and 8 (stories260K: one short block); 700 positions are split across
        // threads (flash-decoding) even for a batch of one.
        for (KvType kv : KvType.values()) {
            for (int headDim : new int[] {128, 80, 8}) {
                for (int positions : new int[] {1, 37, 700}) c.add(new Case(KernelOp.ATTENTION_KV, GgmlType.F16, headDim, positions, 1, 1e-5, kv));
                c.add(new Case(KernelOp.ATTENTION_KV, GgmlType.F16, headDim, 300, 4, 1e-5, kv));
            }
        }
        return List.copyOf(c);
    }

    /** Rows of one op, for parameterized tests. */
    public static List<Case> of(KernelOp op) {
        return CASES.stream().filter(c -> c.op() == op).toList();
    }

    /** max|got − ref| / max|ref| within the case's tolerance (absolute when ref is all zeros): every backend's check. */
    public static void check(Case c, String where, float[] got, double[] ref) {
        assertEquals(ref.length, got.length);
        double maxRef = 0, maxErr = 0;
        int worst = 0;
        for (int i = 0; i < ref.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
            int at = i;
            assertTrue(Float.isFinite(got[i]), () -> c + " " + where + ": not finite at " + at);
            double e = Math.abs(got[i] - ref[i]);
            if (e > maxErr) {
                maxErr = e;
                worst = i;
            }
        }
        double rel = maxErr / (maxRef == 0 ? 1 : maxRef);
        if (rel > c.tolerance()) {
            fail(c + " " + where + ": relative error " + rel + " > " + c.tolerance() + " at " + worst + " (got " + got[worst]
                    + ", want " + ref[worst] + ", max|ref| " + maxRef + ")");
        }
    }

    /**
     * The values a KV cache of {@code type} holds for a row of kvDim floats (heads of headDim), as
     * the model sees them (rotated back): what an attention reference must read.
     */
    public static float[] storedAs(KvType type, float[] row, int headDim) {
        float[] r = new float[row.length];
        byte[] code = new byte[type.bytesPerHead(headDim)];
        for (int h = 0; h < row.length; h += headDim) {
            type.encode(row, h, headDim, code, 0);
            type.decode(code, 0, headDim, r, h);
        }
        return r;
    }

    /**
     * The keys a KV cache of {@code type} holds for a row of kvDim floats, in the model's terms:
     * for a type that {@link KvType#centresKeys()}, {@code row − first} through the codec, plus
     * {@code first} (the slot's position-0 key, KvType's key centring); else {@link #storedAs}.
     */
    public static float[] storedKeys(KvType type, float[] row, float[] first, int headDim) {
        if (!type.centresKeys()) return storedAs(type, row, headDim);
        float[] centred = new float[row.length];
        for (int i = 0; i < row.length; i++) centred[i] = row[i] - first[i];
        float[] r = storedAs(type, centred, headDim);
        for (int i = 0; i < r.length; i++) r[i] += first[i];
        return r;
    }

    /**
     * An offset every key of the {@code attention_kv} rows carries in channel i, as real keys' slowly
     * turning RoPE pairs do (stories260K's reach 19 in keys of amax 24): what key centring removes.
     */
    public static float keyOffset(int channel) {
        return switch (channel % 4) {
            case 1 -> 6f;
            case 3 -> -9f;
            default -> 0f;
        };
    }

    /** The values an F16 KV cache holds: what an attention reference must read. */
    public static float[] roundToHalf(float[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) r[i] = Float.float16ToFloat(Float.floatToFloat16(a[i]));
        return r;
    }
}
