package io.ternion.graph;

import io.ternion.gguf.Numbers;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * How the KV cache stores one head vector (headDim values of one KV head at one position), with
 * llama.cpp's names for {@code --cache-type-k/-ctk} and {@code --cache-type-v/-ctv}. {@link #encode}
 * and {@link #decode} are the plain scalar reference every backend's cache must reproduce byte for
 * byte (a backend may store differently in memory, as the CPU's F16 cache keeps {@code short}s, but
 * must hold these values).
 *
 * <p>A head vector is cut into blocks of {@value #BLOCK} values, the last one shorter when headDim
 * is not a multiple of 32 (a head of 8 is one block of 8); the blocks follow each other with no
 * padding, so {@link #bytesPerHead} is the sum of the blocks' sizes. Every multi-byte field is
 * little-endian; "f16" is IEEE binary16 rounded to nearest even and clamped to ±65504 (so the cache
 * holds no infinities). For a block of n values:
 * <ul>
 *   <li>{@link #F16}: no blocks, headDim f16 values (2·headDim bytes).
 *   <li>{@link #Q8_0}: f16 d, then n int8 q; value = q·d. Encoding is ggml's
 *       {@code quantize_row_q8_0_ref}: d = max|x|/127, q = roundf(x·(1/d)) (0 when d is 0).
 *   <li>{@link #Q4_0}: f16 d, then n/2 bytes; byte j holds element j in its low nibble and element
 *       j + n/2 in its high one (ggml's order for n = 32); value = (nibble − 8)·d. Encoding is ggml's
 *       {@code quantize_row_q4_0_ref}: m = the x of largest |x|, d = m/−8, nibble = min(15,
 *       (int) (x·(1/d) + 8.5)). Needs an even headDim.
 *   <li>{@link #TURBO4}, {@link #TURBO3} (rotated, see {@link KvRotation}): the head vector is
 *       first rotated (y = R·x); then per block, f16 s followed by the n codebook indices i, value =
 *       s·{@link #codebook}()[i]; the decoded y is rotated back with Rᵀ. TURBO4 packs its 4-bit
 *       indices as Q4_0 its nibbles (n/2 bytes, element j low, j + n/2 high); TURBO3 in two planes:
 *       ⌈n/4⌉ bytes of the low two bits (element j at bits 2·(j%4) of byte j/4), then ⌈n/8⌉
 *       bytes of the high bit (element j at bit j%8 of byte j/8). Encoding: σ = √(Σy²/n) (the sum
 *       in double, σ in float); each index is the number of {@link #boundaries} b with y/σ &gt; b
 *       (y/σ a float division; every index 0 when σ is 0: s is then 0); s is the least-squares
 *       scale for those indices, Σ y·c / Σ c² (sums of float products in double, c the codebook
 *       value), stored as f16.
 * </ul>
 *
 * <p>Rotation: Q8_0 and Q4_0 rotate too (as llama.cpp rotates a quantized cache), so every type
 * but F16 is {@link #rotated()}; the bytes are ggml's blocks of the rotated vector.
 *
 * <p>Key centring: a key side of any type but F16 stores k − μ, where μ (kvDim floats per slot and
 * layer) is the key row the slot's position 0 was given (so that position is stored as zeros),
 * kept until position 0 is written again and through context shifts. Attention scores the stored
 * keys as they are: q·(k − μ) = q·k − q·μ, and q·μ is the same for every position one query
 * reads, so the softmax is unchanged, while a channel with a large offset shared by every key
 * (stories260K's slowly turning RoPE pairs: up to 19 of a key's largest 24) no longer sets its
 * block's scale. A backend that reads keys back in the model's terms (a K-shift) adds μ again.
 * The first key rather than a mean of several: it is there before any other and does not depend
 * on how a prompt is cut into steps (a step's rows are stored in parallel on a GPU).
 *
 * <p>The codebooks are the Lloyd–Max quantizers of a unit Gaussian (Max, 1960), which a rotated
 * coordinate divided by its block's RMS closely follows: TurboQuant's scalar stage. 3.5 bits per
 * value for TURBO3 and 4.5 for TURBO4 at blocks of 32 (the f16 scale costs half a bit).
 */
public enum KvType {
    F16("f16", false, null),
    Q8_0("q8_0", true, null),
    Q4_0("q4_0", true, null),
    TURBO4("turbo4", true, new float[] {
            -2.7326f, -2.0690f, -1.6181f, -1.2562f, -0.9424f, -0.6568f, -0.3881f, -0.1284f,
            0.1284f, 0.3881f, 0.6568f, 0.9424f, 1.2562f, 1.6181f, 2.0690f, 2.7326f}),
    TURBO3("turbo3", true, new float[] {-2.1520f, -1.3439f, -0.7560f, -0.2451f, 0.2451f, 0.7560f, 1.3439f, 2.1520f});

    /** The values per block of the quantized types. */
    public static final int BLOCK = 32;

    private static final float MAX_HALF = 65504f;

    private final String id;
    private final boolean rotated;
    private final float[] codebook, boundaries;

    KvType(String id, boolean rotated, float[] codebook) {
        this.id = id;
        this.rotated = rotated;
        this.codebook = codebook;
        if (codebook == null) {
            boundaries = null;
        } else {
            boundaries = new float[codebook.length - 1];
            for (int i = 0; i < boundaries.length; i++) boundaries[i] = (codebook[i] + codebook[i + 1]) / 2;
        }
    }

    /** llama.cpp's name: f16, q8_0, q4_0; turbo4 and turbo3 as in the TurboQuant forks of llama.cpp. */
    public String id() { return id; }

    @Override
    public String toString() { return id; }

    /** Whether heads are stored rotated by {@link KvRotation} (queries and outputs rotated to match). */
    public boolean rotated() { return rotated; }

    /** The codebook of a rotated type, ascending (index i decodes to s·codebook[i]); a copy. */
    public float[] codebook() { return codebook == null ? null : codebook.clone(); }

    /** The midpoints between consecutive codebook values: an index counts the ones below y/σ; a copy. */
    public float[] boundaries() { return boundaries == null ? null : boundaries.clone(); }

    /** The type with llama.cpp's name {@code name} (case-insensitive). */
    public static KvType parse(String name) {
        for (KvType t : values()) if (t.id.equalsIgnoreCase(name.trim())) return t;
        throw new IllegalArgumentException("unknown KV cache type '" + name + "'; the types are " + names());
    }

    /** The names, comma-separated, for help and errors. */
    public static String names() {
        return Arrays.stream(values()).map(KvType::id).collect(Collectors.joining(", "));
    }

    /** Whether a head of headDim values can be stored: any for F16 and Q8_0, an even one for the 4- and 3-bit types. */
    public boolean supports(int headDim) {
        return headDim >= 1 && (this == F16 || this == Q8_0 || headDim % 2 == 0);
    }

    /** Refuses a headDim this type cannot store, naming both. */
    public void checkHeadDim(int headDim) {
        if (!supports(headDim)) {
            throw new IllegalArgumentException("the " + id + " KV cache needs an even head size; this model's heads have " + headDim + " values");
        }
    }

    /** Bytes of one block of n values, the f16 scale included. */
    private int blockBytes(int n) {
        return switch (this) {
            case F16 -> 2 * n;
            case Q8_0 -> 2 + n;
            case Q4_0, TURBO4 -> 2 + (n + 1) / 2;
            case TURBO3 -> 2 + (n + 3) / 4 + (n + 7) / 8;
        };
    }

    /** The bytes of one head vector of headDim values. */
    public int bytesPerHead(int headDim) {
        checkHeadDim(headDim);
        if (this == F16) return 2 * headDim;
        return headDim / BLOCK * blockBytes(BLOCK) + (headDim % BLOCK == 0 ? 0 : blockBytes(headDim % BLOCK));
    }

    /** Bits per stored value for a head of headDim: 16, 8.5, 4.5, 4.5 and 3.5 at multiples of 32. */
    public double bitsPerElement(int headDim) {
        return 8.0 * bytesPerHead(headDim) / headDim;
    }

    /** Bytes of K or V of one position in one layer: kvHeads heads. */
    public long bytesPerPosition(int kvHeads, int headDim) {
        return (long) kvHeads * bytesPerHead(headDim);
    }

    /**
     * Whether keys of this type are stored centred on their slot's first key (every type but F16):
     * see "Key centring" above.
     */
    public boolean centresKeys() { return this != F16; }

    /**
     * Stores x[xOff..xOff+headDim) as {@link #bytesPerHead}(headDim) bytes at out[outOff..], rotating
     * first for a rotated type (x itself is not changed).
     */
    public void encode(float[] x, int xOff, int headDim, byte[] out, int outOff) {
        checkHeadDim(headDim);
        if (this == F16) {
            for (int i = 0; i < headDim; i++) putHalf(out, outOff + 2 * i, x[xOff + i]);
            return;
        }
        float[] y = Arrays.copyOfRange(x, xOff, xOff + headDim);
        if (rotated) KvRotation.forward(y, 0, headDim);
        int at = outOff;
        for (int b = 0; b < headDim; b += BLOCK) {
            int n = Math.min(BLOCK, headDim - b);
            switch (this) {
                case Q8_0 -> encodeQ8(y, b, n, out, at);
                case Q4_0 -> encodeQ4(y, b, n, out, at);
                default -> encodeCodebook(y, b, n, out, at);
            }
            at += blockBytes(n);
        }
    }

    /** The values stored by {@link #encode} at in[inOff..], as the model sees them (rotated back), into out[outOff..outOff+headDim). */
    public void decode(byte[] in, int inOff, int headDim, float[] out, int outOff) {
        decodeStored(in, inOff, headDim, out, outOff);
        if (rotated) KvRotation.inverse(out, outOff, headDim);
    }

    /**
     * The values as stored, without the inverse rotation of a rotated type (the same as
     * {@link #decode} for the others): what attention reads against a rotated query.
     */
    public void decodeStored(byte[] in, int inOff, int headDim, float[] out, int outOff) {
        checkHeadDim(headDim);
        if (this == F16) {
            for (int i = 0; i < headDim; i++) out[outOff + i] = Float.float16ToFloat(getShort(in, inOff + 2 * i));
            return;
        }
        int at = inOff;
        for (int b = 0; b < headDim; b += BLOCK) {
            int n = Math.min(BLOCK, headDim - b);
            float d = Float.float16ToFloat(getShort(in, at));
            int q = at + 2, o = outOff + b;
            switch (this) {
                case Q8_0 -> {
                    for (int j = 0; j < n; j++) out[o + j] = in[q + j] * d;
                }
                case Q4_0, TURBO4 -> {
                    int half = n / 2;
                    for (int j = 0; j < half; j++) {
                        int lo = in[q + j] & 0xF, hi = (in[q + j] >> 4) & 0xF;
                        out[o + j] = this == Q4_0 ? (lo - 8) * d : d * codebook[lo];
                        out[o + j + half] = this == Q4_0 ? (hi - 8) * d : d * codebook[hi];
                    }
                }
                default -> {
                    for (int j = 0; j < n; j++) out[o + j] = d * codebook[index3(in, q, n, j)];
                }
            }
            at += blockBytes(n);
        }
    }

    private static void encodeQ8(float[] x, int off, int n, byte[] out, int at) {
        float amax = 0;
        for (int j = 0; j < n; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, at, d);
        for (int j = 0; j < n; j++) out[at + 2 + j] = (byte) Numbers.roundHalfAway(x[off + j] * id);
    }

    private static void encodeQ4(float[] x, int off, int n, byte[] out, int at) {
        float amax = 0, max = 0;
        for (int j = 0; j < n; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(out, at, d);
        int half = n / 2;
        for (int j = 0; j < half; j++) {
            int lo = Math.min(15, (int) (x[off + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[off + j + half] * id + 8.5f));
            out[at + 2 + j] = (byte) (lo | hi << 4);
        }
    }

    private void encodeCodebook(float[] y, int off, int n, byte[] out, int at) {
        double ss = 0;
        for (int j = 0; j < n; j++) ss += (double) y[off + j] * y[off + j];
        float sigma = (float) Math.sqrt(ss / n);
        int[] idx = new int[n];
        if (sigma > 0) {
            for (int j = 0; j < n; j++) {
                float u = y[off + j] / sigma;
                int i = 0;
                while (i < boundaries.length && u > boundaries[i]) i++;
                idx[j] = i;
            }
        }
        double yc = 0, cc = 0;
        for (int j = 0; j < n; j++) {
            float c = codebook[idx[j]];
            yc += (double) (y[off + j] * c);
            cc += (double) (c * c);
        }
        putHalf(out, at, sigma > 0 ? (float) (yc / cc) : 0f);
        int q = at + 2;
        if (this == TURBO4) {
            int half = n / 2;
            for (int j = 0; j < half; j++) out[q + j] = (byte) (idx[j] | idx[j + half] << 4);
        } else {
            int low = (n + 3) / 4, high = (n + 7) / 8;
            Arrays.fill(out, q, q + low + high, (byte) 0);
            for (int j = 0; j < n; j++) {
                out[q + j / 4] |= (byte) ((idx[j] & 3) << 2 * (j % 4));
                out[q + low + j / 8] |= (byte) ((idx[j] >> 2) << j % 8);
            }
        }
    }

    /** TURBO3's index of element j of a block of n whose planes start at q. */
    private static int index3(byte[] in, int q, int n, int j) {
        int low = (in[q + j / 4] >> 2 * (j % 4)) & 3;
        int high = (in[q + (n + 3) / 4 + j / 8] >> j % 8) & 1;
        return low | high << 2;
    }

    private static void putHalf(byte[] out, int at, float v) {
        short h = Float.floatToFloat16(Math.clamp(v, -MAX_HALF, MAX_HALF));
        out[at] = (byte) h;
        out[at + 1] = (byte) (h >> 8);
    }

    private static short getShort(byte[] in, int at) {
        return (short) ((in[at] & 0xFF) | in[at + 1] << 8);
    }
}
