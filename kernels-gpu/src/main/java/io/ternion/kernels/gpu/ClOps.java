package io.ternion.kernels.gpu;

import static io.ternion.kernels.gpu.KernelNames.*;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.I2_SCodec;
import io.ternion.gguf.Tensor;
import io.ternion.graph.RopeScaling;
import io.ternion.graph.KvRotation;
import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.kernels.gpu.Launch.Rows;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The kernels of {@code ternion.cl} built for one device, and a factory for bound {@link Launch}es
 * of each op. Activations are float rows in device buffers, one row per token, or for the head's
 * buffers one per token whose logits come back; each launch covers the first rows of its
 * {@link Rows} (the step buffer, {@link StepLayout}, says how many and which). Nothing here knows
 * about models.
 */
public final class ClOps {
    /** Weight types with kernels here (see {@link KernelNames}); they are also the embedding table types. */
    public static final Set<GgmlType> TYPES = KernelNames.types();

    /**
     * How a weight type's reference engine quantizes the activations it multiplies (none: float), with
     * the kernels that do it: {@code quantizeKernel} alone, {@code normQuantizeKernel} fused into the
     * RMSNorm before it.
     */
    public enum Activations {
        FLOAT(0, null, null),
        I8_S(0, "quant_i8_s", "rms_norm_quant_i8_s"),
        Q8_K(256, "quant_q8_k", "rms_norm_quant_q8_k"),
        Q8_0(32, "quant_q8_0", "rms_norm_quant_q8_0");

        /** Elements per activation scale; 0 for one scale per row. */
        final int block;
        final String quantizeKernel, normQuantizeKernel;

        Activations(int block, String quantizeKernel, String normQuantizeKernel) {
            this.block = block;
            this.quantizeKernel = quantizeKernel;
            this.normQuantizeKernel = normQuantizeKernel;
        }

        public static Activations of(GgmlType t) {
            return switch (t) {
                case I2_S -> I8_S;
                case TQ1_0, TQ2_0 -> Q8_K;
                // As llama.cpp's vec_dot_type for both (Q2_0_128 is the fork's Q2_0 in blocks of 128).
                case Q1_0, Q2_0, Q2_0_128 -> Q8_0;
                default -> FLOAT;
            };
        }

        /** Floats of scales for {@code rows} rows of {@code k}. */
        public long scales(int k, int rows) {
            return this == FLOAT ? 0 : (block == 0 ? rows : (long) rows * (k / block));
        }
    }

    private final ClContext ctx;
    private final ClProgram program;
    private final ClSettings settings;
    private final int lanes, lanesPerRow, rowsPerGroup;
    /** Per KV type, its codebook and boundaries ({@code book} in ternion.cl); per rotation block length, its signs. */
    private final Map<KvType, ClBuffer> kvBooks = new EnumMap<>(KvType.class);
    private final Map<Integer, ClBuffer> kvSigns = new HashMap<>();

    /**
     * The largest head a KV cache of a type other than F16 may have here: the typed kernels hold a
     * head in private and local memory of this many floats (ternion.cl's KV_MAX_HEAD).
     */
    public static final int KV_MAX_HEAD = 256;

    /**
     * With the device's settings from tornado-config/opencl (or the user's file): on GPUs a warp or
     * wavefront per matvec row, reading consecutive weights together; on CPU devices a row per
     * work-item, {@link #lanes} rows per group, so there are no barriers and few groups.
     */
    public ClOps(ClContext ctx) {
        this(ctx, ClSettings.of(ctx.device()));
    }

    /** With {@code lanesPerRow} lanes per matvec row (1: a row per work-item); tests run both layouts on any device. */
    public ClOps(ClContext ctx, int lanesPerRow) {
        this(ctx, ClSettings.of(ctx.device()).withLanesPerRow(lanesPerRow));
    }

    /** With these settings, which must fit the device ({@link ClSettings#resolve} checks that for settings from files). */
    public ClOps(ClContext ctx, ClSettings settings) {
        this.ctx = ctx;
        this.settings = settings;
        this.lanes = settings.lanes();
        this.lanesPerRow = settings.lanesPerRow();
        this.rowsPerGroup = settings.rowsPerGroup();
        String options = settings.buildOptions() + " -DKV_MAX_HEAD=" + KV_MAX_HEAD + " -cl-fp32-correctly-rounded-divide-sqrt "
                + System.getProperty("ternion.opencl.options", "");
        this.program = ctx.build(source(), options.strip());
    }

    /** The work-group size: the device's preferred lane count, a power of two within its limit, unless the settings say otherwise. */
    public int lanes() { return lanes; }

    /** The launch settings these kernels were built with; {@link ClSettings#maxBatch} is the prompt batch per device call. */
    public ClSettings settings() { return settings; }

    public ClContext context() { return ctx; }

    static String source() {
        try (InputStream in = ClOps.class.getResourceAsStream("ternion.cl")) {
            if (in == null) throw new IllegalStateException("ternion.cl is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static boolean supports(GgmlType t) {
        return TYPES.contains(t);
    }

    /** Uploads a weight matrix in its own layout (the bytes are copied from the mapped file). */
    public ClWeights upload(Tensor t) {
        if (!supports(t.type())) throw new OpenClException("the opencl backend has no kernel for " + t.type() + " (tensor '" + t.name() + "')");
        int k = Math.toIntExact(t.rowLength());
        if (k % t.type().blockSize != 0) throw new IllegalArgumentException(t + ": rows are not whole blocks");
        float scale = t.type() == GgmlType.I2_S ? I2_SCodec.scale(t.data()) : 1f;
        return new ClWeights(ctx.upload(t.data()), t.type(), k, Math.toIntExact(t.rows()), t.type().rowBytes(k), scale);
    }

    /** out[b] = the table's row of row b's token, as floats. */
    public Launch embed(ClWeights table, ClBuffer step, ClBuffer out) {
        ClKernel k = program.kernel(KernelNames.of(table.type()).embed())
                .arg(0, table.buffer()).arg(1, table.rowBytes()).arg(2, table.tensorScale()).arg(3, step).arg(4, out).arg(5, table.k());
        return new Launch(k, new long[] {table.k(), 1}, null, 1, Rows.TOKENS);
    }

    /** Quantizes the rows of {@code x} (rows of k) in use, the step's tokens or outputs, into {@code q} (bytes) and {@code qd} (scales). */
    public Launch quantize(Activations a, ClBuffer x, ClBuffer q, ClBuffer qd, int k, Rows rows) {
        if (a == Activations.FLOAT) throw new IllegalArgumentException("float activations are not quantized");
        ClKernel kernel = program.kernel(a.quantizeKernel).arg(0, x).arg(1, q).arg(2, qd).arg(3, k);
        // One scale per row (I8_S): a work-group per row. Per block: a work-item per block.
        return a.block == 0
                ? new Launch(kernel, new long[] {lanes, 1}, new long[] {lanes, 1}, 1, rows)
                : new Launch(kernel, new long[] {k / a.block, 1}, null, 1, rows);
    }

    /**
     * y[b] = W · x[b] for float-activation types, over the rows in use: as many as the step has
     * tokens or outputs ({@code rows}; the tiled kernel reads the count from {@code step}); with
     * {@code accumulate}, y[b] += W · x[b]. More than one row runs the tiled kernel, which decodes
     * each weight once.
     */
    public Launch matVec(ClWeights w, ClBuffer x, ClBuffer y, ClBuffer step, Rows rows, boolean accumulate) {
        if (Activations.of(w.type()) != Activations.FLOAT) throw new IllegalArgumentException(w.type() + " needs quantized activations");
        return matMul(w, x, null, y, step, rows, accumulate);
    }

    /** As {@link #matVec}, over activations quantized by {@link #quantize} with {@link Activations#of}(W's type). */
    public Launch matVecQuantized(ClWeights w, ClBuffer q, ClBuffer qd, ClBuffer y, ClBuffer step, Rows rows, boolean accumulate) {
        return matMul(w, q, qd, y, step, rows, accumulate);
    }

    private Launch matMul(ClWeights w, ClBuffer x, ClBuffer scales, ClBuffer y, ClBuffer step, Rows rows, boolean accumulate) {
        KernelNames.ForType names = KernelNames.of(w.type());
        ClKernel one = bindMatMul(program.kernel(names.matVec()), w, x, scales, y, accumulate);
        long groups = (w.rows() + rowsPerGroup - 1) / rowsPerGroup, size = (long) rowsPerGroup * lanesPerRow;
        long[] global = {groups * size, 1}, local = {size, 1};
        ClKernel tiled = bindMatMul(program.kernel(names.tiledMatMul()), w, x, scales, y, accumulate);
        int stepArg = scales == null ? 8 : 9;
        tiled.arg(stepArg, step).arg(stepArg + 1, rows.ordinal());
        return new Launch(one, tiled, settings.tile(), global, local, 1, rows);
    }

    private static ClKernel bindMatMul(ClKernel k, ClWeights w, ClBuffer x, ClBuffer scales, ClBuffer y, boolean accumulate) {
        k.arg(0, w.buffer()).arg(1, w.rowBytes()).arg(2, w.tensorScale()).arg(3, x);
        int i = 4;
        if (scales != null) k.arg(i++, scales);
        return k.arg(i, y).arg(i + 1, w.k()).arg(i + 2, w.rows()).arg(i + 3, accumulate ? 1 : 0);
    }

    /** out = in / rms(in) · w for rows of {@code dim}; {@code rowsPerToken} > 1 normalises each head. */
    public Launch rmsNorm(ClBuffer in, ClBuffer weight, ClBuffer out, int dim, float eps, int rowsPerToken, Rows rows) {
        ClKernel k = program.kernel(RMS_NORM).arg(0, in).arg(1, weight).arg(2, out).arg(3, dim).arg(4, eps);
        return new Launch(k, new long[] {lanes, rowsPerToken}, new long[] {lanes, 1}, 1, rows);
    }

    /**
     * {@link #rmsNorm} of one row per token fused with {@link #quantize} of its output (into {@code q}
     * and {@code qd}, as the quantize launch would write them), for the quantized matmuls that read it.
     */
    public Launch rmsNormQuantize(ClBuffer in, ClBuffer weight, ClBuffer out, int dim, float eps, Activations a, ClBuffer q, ClBuffer qd) {
        if (a == Activations.FLOAT) throw new IllegalArgumentException("float activations are not quantized");
        ClKernel k = program.kernel(a.normQuantizeKernel)
                .arg(0, in).arg(1, weight).arg(2, out).arg(3, dim).arg(4, eps).arg(5, q).arg(6, qd);
        return new Launch(k, new long[] {lanes, 1}, new long[] {lanes, 1}, 1, Rows.TOKENS);
    }

    /** ggml's RoPE at each row's position, with the CPU backend's theta recurrence. */
    public Launch rope(ClBuffer x, ClBuffer step, int heads, int headDim, int dims, float freqBase, boolean neox) {
        return rope(x, step, heads, headDim, dims, freqBase, neox, RopeScaling.NONE);
    }

    /** As {@link #rope(ClBuffer, ClBuffer, int, int, int, float, boolean)}, scaled (linear or YaRN) as {@link RopeScaling} says. */
    public Launch rope(ClBuffer x, ClBuffer step, int heads, int headDim, int dims, float freqBase, boolean neox, RopeScaling scaling) {
        float[] corr = scaling.correctionDims(dims, freqBase);
        ClKernel k = program.kernel(ROPE).arg(0, x).arg(1, step).arg(2, heads).arg(3, headDim).arg(4, dims)
                .arg(5, thetaScale(dims, freqBase)).arg(6, neox ? 1 : 0).arg(7, scaling.freqScale()).arg(8, scaling.extFactor())
                .arg(9, scaling.mscale()).arg(10, corr[0]).arg(11, corr[1]);
        return new Launch(k, new long[] {(long) heads * (dims / 2), 1}, null, 1, Rows.TOKENS);
    }

    /** rope_rotate's ratio of one pair's frequency to the previous one's, for rope and kv_shift alike. */
    private static float thetaScale(int dims, float freqBase) {
        return dims == 0 ? 1f : (float) Math.pow(freqBase, -2.0f / dims);
    }

    /**
     * A context shift of F16 caches laid out as {@link #storeKv} writes them (kvHeads × headDim
     * per position), for one layer whose keys were rotated by rope(dims, freqBase, neox, scaling)
     * (dims 0: not rotated): each {@link KvShift#run} moves a slot's positions down, re-rotating the
     * keys by the same angles without the scaling's mscale, which the stored keys carry already.
     */
    public KvShift kvShift(ClBuffer kCache, ClBuffer vCache, int kvHeads, int headDim, int dims, float freqBase, boolean neox,
            RopeScaling scaling) {
        if (headDim % 2 != 0 || dims % 2 != 0 || dims > headDim) {
            throw new IllegalArgumentException("a KV shift needs an even headDim " + headDim + " and rope dims " + dims + " within it");
        }
        ClKernel k = program.kernel(KV_SHIFT).arg(0, kCache).arg(1, vCache).arg(3, headDim).arg(7, dims)
                .arg(8, thetaScale(dims, freqBase)).arg(9, neox ? 1 : 0);
        float[] corr = scaling.correctionDims(dims, freqBase);
        k.arg(10, scaling.freqScale()).arg(11, scaling.extFactor()).arg(12, corr[0]).arg(13, corr[1]);
        k.range(new long[] {(long) kvHeads * headDim / 2}, null);
        return new KvShift(k);
    }

    /** One layer's bound {@code kv_shift} kernel; the slot and the positions are set per shift. */
    public static final class KvShift {
        private final ClKernel kernel;

        private KvShift(ClKernel kernel) {
            this.kernel = kernel;
        }

        /**
         * Enqueues the shift of the slot whose positions start at element {@code slotAt} of the caches:
         * [keep+drop, length) move to [keep, length−drop), the keys rotated by −drop.
         */
        public void run(long slotAt, int keep, int drop, int length) {
            kernel.arg(2, slotAt).arg(4, keep).arg(5, drop).arg(6, length).launch();
        }
    }

    /**
     * A context shift of caches of {@code kv}'s types laid out as {@link #storeKv(KvType, ClBuffer,
     * ClBuffer, ClBuffer, long, int, int, int, ClBuffer, long)} writes them, for one layer whose keys
     * were rotated by rope(dims, freqBase, neox, scaling) (dims 0: not rotated), as the CPU backend's
     * {@code KvCache.moveAndRotate} does it: each key decoded (μ from {@code keyMean} added back when
     * the key type centres keys), turned by −drop, encoded again; values moved as stored. The turn's
     * cos and sin are worked out here as the CPU's rope works them out (in float, {@link Math#cos} of
     * {@link RopeScaling#angle}), so the device writes the CPU's very bytes.
     */
    public KvShiftTyped kvShift(KvTypes kv, ClBuffer kCache, ClBuffer vCache, ClBuffer keyMean, int kvHeads, int headDim, int dims,
                                float freqBase, boolean neox, RopeScaling scaling) {
        checkKvHead(kv.key(), headDim);
        checkKvHead(kv.value(), headDim);
        if (dims % 2 != 0 || dims > headDim) throw new IllegalArgumentException("a KV shift needs even rope dims " + dims + " within the head " + headDim);
        int n = KvRotation.blockLength(headDim);
        boolean centre = keyMean != null && kv.key().centresKeys();
        ClBuffer turn = ctx.buffer(4L * Math.max(2, dims));
        ClKernel k = program.kernel(KV_SHIFT_TYPED).arg(0, kCache).arg(1, vCache).arg(4, kvHeads).arg(5, headDim)
                .arg(9, kv.key().ordinal()).arg(10, kv.key().bytesPerHead(headDim)).arg(11, kvBook(kv.key()))
                .arg(12, kv.value().bytesPerHead(headDim)).arg(13, kvSigns(n)).arg(14, n).arg(15, (float) (1 / Math.sqrt(n)))
                .arg(16, centre ? keyMean : turn).arg(18, centre ? 1 : 0).arg(19, turn).arg(20, dims).arg(21, neox ? 1 : 0);
        k.range(new long[] {(long) kvHeads * lanes}, new long[] {lanes});
        return new KvShiftTyped(k, turn, dims, freqBase, scaling);
    }

    /** One layer's bound {@code kv_shift_typed} kernel; the slot, the positions and the turn are set per shift. */
    public final class KvShiftTyped {
        private final ClKernel kernel;
        private final ClBuffer turn;
        private final int dims;
        private final float thetaScale, freqBase;
        private final RopeScaling scaling;

        private KvShiftTyped(ClKernel kernel, ClBuffer turn, int dims, float freqBase, RopeScaling scaling) {
            this.kernel = kernel;
            this.turn = turn;
            this.dims = dims;
            this.freqBase = freqBase;
            this.thetaScale = thetaScale(dims, freqBase);
            this.scaling = scaling;
        }

        /**
         * Enqueues the shift of the slot whose rows start at byte {@code kSlotAt} of the key cache and
         * {@code vSlotAt} of the value cache, its μ at float {@code meanAt} of the key means:
         * [keep+drop, length) move to [keep, length−drop), the keys turned by −drop.
         */
        public void run(long kSlotAt, long vSlotAt, long meanAt, int keep, int drop, int length) {
            if (length - keep - drop <= 0) return;
            if (dims > 0) ctx.write(turn, 0, MemorySegment.ofArray(turn(-drop)));
            kernel.arg(2, kSlotAt).arg(3, vSlotAt).arg(6, keep).arg(7, drop).arg(8, length).arg(17, meanAt).launch();
        }

        /** cos and sin of each pair's angle at {@code position}, interleaved: Ops.rope's, with a magnitude of 1. */
        private float[] turn(int position) {
            float[] corr = scaling.correctionDims(dims, freqBase), out = new float[dims];
            float theta = position;
            for (int i = 0; i < dims / 2; i++) {
                float angle = scaling.angle(theta, corr, i);
                out[2 * i] = (float) Math.cos(angle);
                out[2 * i + 1] = (float) Math.sin(angle);
                theta *= thetaScale;
            }
            return out;
        }
    }

    /**
     * Stores K and V rows into F16 caches at their rows' slots and positions; a layer's cache
     * ({@code layerOffset} in elements) holds slots × {@code ctxLength} positions, slot-major.
     */
    public Launch storeKv(ClBuffer kIn, ClBuffer vIn, ClBuffer kCache, ClBuffer vCache, ClBuffer step, long layerOffset, int kvDim, int ctxLength) {
        ClKernel k = program.kernel(STORE_KV).arg(0, kIn).arg(1, vIn).arg(2, kCache).arg(3, vCache).arg(4, step)
                .arg(5, layerOffset).arg(6, kvDim).arg(7, ctxLength);
        return new Launch(k, new long[] {kvDim, 1}, null, 1, Rows.TOKENS);
    }

    /**
     * Causal GQA attention of each row over its own slot of the cache (laid out as {@link #storeKv}
     * writes it), up to its position; {@code scores} holds maxBatch × heads × ctx floats.
     */
    public Launch attention(ClBuffer q, ClBuffer kCache, ClBuffer vCache, ClBuffer scores, ClBuffer out, ClBuffer step,
                            long layerOffset, int heads, int kvHeads, int headDim, int ctxLength, float scale) {
        ClKernel k = program.kernel(ATTENTION).arg(0, q).arg(1, kCache).arg(2, vCache).arg(3, scores).arg(4, out).arg(5, step)
                .arg(6, layerOffset).arg(7, heads).arg(8, kvHeads).arg(9, headDim).arg(10, ctxLength).arg(11, scale);
        return new Launch(k, new long[] {(long) heads * lanes, 1}, new long[] {lanes, 1}, 1, Rows.TOKENS);
    }

    /**
     * Stores K or V rows (kvHeads heads of headDim) into a cache of {@code type} at their rows'
     * slots and positions, in {@link KvType#encode}'s bytes, quantizing (and rotating) on the device;
     * a layer's cache ({@code layerOffset} in bytes) holds slots × {@code ctxLength} rows of
     * {@link KvType#bytesPerPosition} bytes, slot-major. For any type but F16 pairs, which
     * {@link #storeKv(ClBuffer, ClBuffer, ClBuffer, ClBuffer, ClBuffer, long, int, int)} stores.
     */
    public Launch storeKv(KvType type, ClBuffer in, ClBuffer cache, ClBuffer step, long layerOffset, int kvHeads, int headDim, int ctxLength) {
        return storeKv(type, in, cache, step, layerOffset, kvHeads, headDim, ctxLength, null, 0);
    }

    /**
     * As {@link #storeKv(KvType, ClBuffer, ClBuffer, ClBuffer, long, int, int, int)}, for keys:
     * centred on each slot's first key ({@link KvType}'s key centring) when {@code keyMean} is not
     * null and the type {@link KvType#centresKeys()}; μ lives in {@code keyMean} from float
     * {@code meanOffset} on, slot-major, kvHeads·headDim floats per slot.
     */
    public Launch storeKv(KvType type, ClBuffer in, ClBuffer cache, ClBuffer step, long layerOffset, int kvHeads, int headDim, int ctxLength,
                          ClBuffer keyMean, long meanOffset) {
        checkKvHead(type, headDim);
        int n = KvRotation.blockLength(headDim);
        boolean centre = keyMean != null && type.centresKeys();
        ClKernel k = program.kernel(STORE_KV_TYPED).arg(0, in).arg(1, cache).arg(2, step).arg(3, layerOffset)
                .arg(4, kvHeads).arg(5, headDim).arg(6, ctxLength).arg(7, type.ordinal()).arg(8, type.bytesPerHead(headDim))
                .arg(9, kvSigns(n)).arg(10, n).arg(11, (float) (1 / Math.sqrt(n))).arg(12, kvBook(type))
                .arg(13, centre ? keyMean : kvBook(type)).arg(14, centre ? meanOffset : 0L).arg(15, centre ? 1 : 0);
        return new Launch(k, new long[] {kvHeads, 1}, null, 1, Rows.TOKENS);
    }

    /**
     * {@link #attention} over caches of {@code kv}'s types, laid out as {@link #storeKv(KvType, ClBuffer,
     * ClBuffer, ClBuffer, long, int, int, int)} writes them ({@code kOffset}, {@code vOffset}: the
     * layer's start in each, in bytes), reading the codes directly: a rotated key type scores the
     * rotated query, a rotated value type rotates the output back.
     */
    public Launch attention(KvTypes kv, ClBuffer q, ClBuffer kCache, ClBuffer vCache, ClBuffer scores, ClBuffer out, ClBuffer step,
                            long kOffset, long vOffset, int heads, int kvHeads, int headDim, int ctxLength, float scale) {
        checkKvHead(kv.key(), headDim);
        checkKvHead(kv.value(), headDim);
        int n = KvRotation.blockLength(headDim);
        ClKernel k = program.kernel(ATTENTION_KV_TYPED).arg(0, q).arg(1, kCache).arg(2, vCache).arg(3, scores).arg(4, out).arg(5, step)
                .arg(6, kOffset).arg(7, vOffset).arg(8, heads).arg(9, kvHeads).arg(10, headDim).arg(11, ctxLength).arg(12, scale)
                .arg(13, kv.key().ordinal()).arg(14, kv.key().bytesPerHead(headDim)).arg(15, kvBook(kv.key()))
                .arg(16, kv.value().ordinal()).arg(17, kv.value().bytesPerHead(headDim)).arg(18, kvBook(kv.value()))
                .arg(19, kvSigns(n)).arg(20, n).arg(21, (float) (1 / Math.sqrt(n)));
        return new Launch(k, new long[] {(long) heads * lanes, 1}, new long[] {lanes, 1}, 1, Rows.TOKENS);
    }

    /** Refuses a head the typed KV kernels cannot hold, or the type cannot store. */
    static void checkKvHead(KvType type, int headDim) {
        type.checkHeadDim(headDim);
        if (headDim > KV_MAX_HEAD) {
            throw new UnsupportedOperationException("the opencl backend's " + type + " KV cache holds heads of up to " + KV_MAX_HEAD
                    + " values; this model's have " + headDim);
        }
    }

    /** Bytes of the tables the typed KV kernels read: a codebook per type and the signs, at most. */
    static long kvTableBytes() {
        return 4L * (KvType.values().length * 2 * 16 + KV_MAX_HEAD);
    }

    private ClBuffer kvBook(KvType type) {
        return kvBooks.computeIfAbsent(type, t -> {
            float[] table = new float[32];
            if (t.codebook() != null) {
                System.arraycopy(t.codebook(), 0, table, 0, t.codebook().length);
                System.arraycopy(t.boundaries(), 0, table, 16, t.boundaries().length);
            }
            return ctx.upload(table);
        });
    }

    private ClBuffer kvSigns(int blockLength) {
        return kvSigns.computeIfAbsent(blockLength, n -> ctx.upload(KvRotation.signs(n)));
    }

    /** acc += x over rows of {@code width}. */
    public Launch add(ClBuffer acc, ClBuffer x, int width, Rows rows) {
        return new Launch(program.kernel(ADD).arg(0, acc).arg(1, x), new long[] {width}, null, 0, rows);
    }

    /** x *= f over rows of {@code width}. */
    public Launch scale(ClBuffer x, float f, int width, Rows rows) {
        return new Launch(program.kernel(SCALE).arg(0, x).arg(1, f), new long[] {width}, null, 0, rows);
    }

    /** out = act(gate) · up, act SiLU or squared ReLU. */
    public Launch glu(boolean silu, ClBuffer gate, ClBuffer up, ClBuffer out, int width) {
        ClKernel k = program.kernel(silu ? GLU_SILU : GLU_RELU2).arg(0, gate).arg(1, up).arg(2, out);
        return new Launch(k, new long[] {width}, null, 0, Rows.TOKENS);
    }

    /** out[0] = the index of the largest of the first n floats of x, the lowest on ties: of the first output's logits, so a step without outputs skips it. */
    public Launch argmax(ClBuffer x, int n, ClBuffer out) {
        return new Launch(program.kernel(ARGMAX).arg(0, x).arg(1, n).arg(2, out), new long[] {lanes}, new long[] {lanes}, -1, Rows.OUTPUTS);
    }

    /** out[j] = the row of in that the step lists as its j-th output. */
    public Launch selectOutputs(ClBuffer in, ClBuffer out, ClBuffer step, int width) {
        ClKernel k = program.kernel(SELECT_OUTPUTS).arg(0, in).arg(1, out).arg(2, step).arg(3, width);
        return new Launch(k, new long[] {width, 1}, null, 1, Rows.OUTPUTS);
    }
}
