package io.ternion.kernels.cpu;

/**
 * Keys and values of every layer for {@code slots} sequences of positions 0..contextLength−1,
 * each position a row of kvDim (kvHeads·headDim) values. One array per layer for K and one for V,
 * allocated once; as halves
 * ({@code short[]}, IEEE binary16, half the memory, as llama.cpp's default F16 cache, but finite:
 * see {@link #store}) or as floats.
 *
 * <p>Slot-major, then head-major: KV head h's values for position t of slot s are at
 * {@code ((s·kvHeads + h)·contextLength + t)·headDim} ({@link #at}), so attention, which reads one head over every position, streams a contiguous
 * run. Position-major, it read headDim of every kvDim values, and at a few hundred positions that
 * strided read ran at under 2 GB/s and took a quarter of decode, with a second thread not helping.
 */
public final class KvCache {
    private final int layers, slots, contextLength, kvHeads, headDim, kvDim;
    private final boolean f16;
    final float[][] kf, vf;
    final short[][] kh, vh;

    /** One sequence's cache. */
    public KvCache(int layers, int contextLength, int kvHeads, int headDim, boolean f16) {
        this(layers, 1, contextLength, kvHeads, headDim, f16);
    }

    public KvCache(int layers, int slots, int contextLength, int kvHeads, int headDim, boolean f16) {
        if (layers < 1 || slots < 1 || contextLength < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("layers, slots, contextLength, kvHeads and headDim must be >= 1: " + layers + ", "
                    + slots + ", " + contextLength + ", " + kvHeads + ", " + headDim);
        }
        this.kvDim = Math.multiplyExact(kvHeads, headDim);
        int perLayer;
        try {
            perLayer = Math.multiplyExact(slots, Math.multiplyExact(contextLength, kvDim));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(slots + " slots of " + contextLength + " positions of " + kvDim
                    + " values do not fit one array per layer; use a smaller context or fewer slots");
        }
        this.layers = layers;
        this.slots = slots;
        this.contextLength = contextLength;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.f16 = f16;
        if (f16) {
            kf = vf = null;
            kh = new short[layers][perLayer];
            vh = new short[layers][perLayer];
        } else {
            kh = vh = null;
            kf = new float[layers][perLayer];
            vf = new float[layers][perLayer];
        }
    }

    public int layers() { return layers; }

    public int slots() { return slots; }

    public int contextLength() { return contextLength; }

    public int kvDim() { return kvDim; }

    public int kvHeads() { return kvHeads; }

    public int headDim() { return headDim; }

    /** Where KV head h's headDim values for position t of a slot start in a layer's array. */
    int at(int slot, int h, int t) {
        return ((slot * kvHeads + h) * contextLength + t) * headDim;
    }

    public boolean f16() { return f16; }

    /** Bytes held by the K and V arrays. */
    public long bytes() {
        return 2L * layers * slots * contextLength * kvDim * (f16 ? 2 : 4);
    }

    /** Stores the key and value rows of position {@code pos} of slot {@code slot} of {@code layer}. */
    public void store(int layer, int slot, int pos, float[] k, int kOff, float[] v, int vOff) {
        if (layer < 0 || layer >= layers) throw new IndexOutOfBoundsException("layer " + layer + " of " + layers);
        if (slot < 0 || slot >= slots) throw new IndexOutOfBoundsException("slot " + slot + " of " + slots);
        if (pos < 0 || pos >= contextLength) throw new IndexOutOfBoundsException("position " + pos + " outside the context of " + contextLength);
        for (int h = 0; h < kvHeads; h++) {
            int at = at(slot, h, pos), off = h * headDim;
            if (f16) {
                toHalf(k, kOff + off, kh[layer], at, headDim);
                toHalf(v, vOff + off, vh[layer], at, headDim);
            } else {
                System.arraycopy(k, kOff + off, kf[layer], at, headDim);
                System.arraycopy(v, vOff + off, vf[layer], at, headDim);
            }
        }
    }

    /** Rotates one KV head's key in place: {@code headDim} floats of {@code row} from {@code off}, in a given layer. */
    @FunctionalInterface
    public interface KeyRotation {
        void rotate(int layer, float[] row, int off);
    }

    /**
     * Moves positions [from, from+count) of a slot to [to, to+count) in every layer (to ≤ from, as a
     * context shift moves them), each key head passed through {@code rotateKey} in floats on the way;
     * values move as they are stored.
     */
    public void moveAndRotate(int slot, int from, int to, int count, KeyRotation rotateKey) {
        if (slot < 0 || slot >= slots) throw new IndexOutOfBoundsException("slot " + slot + " of " + slots);
        if (to < 0 || to > from || from + count > contextLength) {
            throw new IndexOutOfBoundsException("cannot move positions " + from + ".." + (from + count) + " to " + to + " in " + contextLength);
        }
        float[] row = new float[headDim];
        for (int layer = 0; layer < layers; layer++) {
            for (int h = 0; h < kvHeads; h++) {
                // One head's positions are one contiguous run: values move as one block, keys a row at a time, upwards (to ≤ from).
                if (f16) System.arraycopy(vh[layer], at(slot, h, from), vh[layer], at(slot, h, to), count * headDim);
                else System.arraycopy(vf[layer], at(slot, h, from), vf[layer], at(slot, h, to), count * headDim);
                for (int t = 0; t < count; t++) {
                    int src = at(slot, h, from + t), dst = at(slot, h, to + t);
                    if (f16) for (int i = 0; i < headDim; i++) row[i] = Float.float16ToFloat(kh[layer][src + i]);
                    else System.arraycopy(kf[layer], src, row, 0, headDim);
                    rotateKey.rotate(layer, row, 0);
                    if (f16) toHalf(row, 0, kh[layer], dst, headDim);
                    else System.arraycopy(row, 0, kf[layer], dst, headDim);
                }
            }
        }
    }

    /**
     * Round to nearest even, as ggml's fp32→fp16, except that values beyond the largest half
     * (±65504) are stored as it rather than as infinities: attention reads the cache with
     * {@link Vec#finiteHalfToFloat}. (NaN stays NaN and reads back as a large finite value.)
     */
    private static void toHalf(float[] src, int srcOff, short[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = Float.floatToFloat16(Math.clamp(src[srcOff + i], -MAX_HALF, MAX_HALF));
    }

    private static final float MAX_HALF = 65504f;
}
