package io.ternion.kernels.cpu;


import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;

/**
 * Keys and values of every layer for {@code slots} sequences of positions 0..contextLength−1,
 * each position a row of kvDim (kvHeads·headDim) values. One array per layer for K and one for V,
 * allocated once; each side as halves ({@code short[]}, IEEE binary16, half the memory, as
 * llama.cpp's default F16 cache, but finite: see {@link #store}), as the bytes of a quantized
 * {@link KvType} ({@code byte[]}, {@link KvType#bytesPerHead} per head vector, exactly what
 * {@link KvType#encode} writes) or, for tests, as floats.
 *
 * <p>Slot-major, then head-major: KV head h's values for position t of slot s are head vector
 * number {@code (s·kvHeads + h)·contextLength + t} ({@link #at} gives its first element; a quantized
 * side's vector starts at that number × bytesPerHead), so attention, which reads one head over every position, streams a contiguous
 * run. Position-major, it read headDim of every kvDim values, and at a few hundred positions that
 * strided read ran at under 2 GB/s and took a quarter of decode, with a second thread not helping.
 */
public final class KvCache {
    private final int layers, slots, contextLength, kvHeads, headDim, kvDim;
    private final boolean f16;
    /** The types of keys and values; null for a float cache. */
    private final KvType kType, vType;
    final float[][] kf, vf;
    final short[][] kh, vh;
    /** The quantized sides' bytes (null for an F16 or float side) and their bytes per head vector. */
    final byte[][] kq, vq;
    final int kBytes, vBytes;
    /**
     * A quantized key side's μ per slot ({@link KvType}'s key centring: the key row of the slot's
     * position 0), slot-major kvDim floats per layer: keys are stored as k − μ (attention reads them
     * so; softmax does not see q·μ) and read back for a K-shift as stored + μ. Null for an F16 or
     * float side.
     */
    final float[][] kMean;

    /** One sequence's cache. */
    public KvCache(int layers, int contextLength, int kvHeads, int headDim, boolean f16) {
        this(layers, 1, contextLength, kvHeads, headDim, f16);
    }

    /** An F16 cache ({@code f16}) or a float one. */
    public KvCache(int layers, int slots, int contextLength, int kvHeads, int headDim, boolean f16) {
        this(layers, slots, contextLength, kvHeads, headDim, f16 ? KvTypes.F16 : null);
    }

    /** A cache of the given key and value types. */
    public KvCache(int layers, int slots, int contextLength, int kvHeads, int headDim, KvTypes types) {
        if (layers < 1 || slots < 1 || contextLength < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException("layers, slots, contextLength, kvHeads and headDim must be >= 1: " + layers + ", "
                    + slots + ", " + contextLength + ", " + kvHeads + ", " + headDim);
        }
        if (types != null) types.checkHeadDim(headDim);
        this.kvDim = Math.multiplyExact(kvHeads, headDim);
        this.kType = types == null ? null : types.key();
        this.vType = types == null ? null : types.value();
        this.kBytes = kType == null ? 4 * headDim : kType.bytesPerHead(headDim);
        this.vBytes = vType == null ? 4 * headDim : vType.bytesPerHead(headDim);
        int perLayer, heads;
        try {
            heads = Math.multiplyExact(slots, Math.multiplyExact(contextLength, kvHeads));
            perLayer = Math.multiplyExact(heads, headDim);
            Math.multiplyExact(heads, Math.max(kBytes, vBytes));
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(slots + " slots of " + contextLength + " positions of " + kvDim
                    + " values do not fit one array per layer; use a smaller context or fewer slots");
        }
        this.layers = layers;
        this.slots = slots;
        this.contextLength = contextLength;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.f16 = kType == KvType.F16 && vType == KvType.F16;
        kf = kType == null ? new float[layers][perLayer] : null;
        vf = vType == null ? new float[layers][perLayer] : null;
        kh = kType == KvType.F16 ? new short[layers][perLayer] : null;
        vh = vType == KvType.F16 ? new short[layers][perLayer] : null;
        kq = kType != null && kType != KvType.F16 ? new byte[layers][heads * kBytes] : null;
        vq = vType != null && vType != KvType.F16 ? new byte[layers][heads * vBytes] : null;
        kMean = kType != null && kType.centresKeys() ? new float[layers][slots * kvDim] : null;
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

    /** Whether keys and values are both F16 (the attention's original path). */
    public boolean f16() { return f16; }

    /** The keys' type; null for a float cache. */
    public KvType keyType() { return kType; }

    /** The values' type; null for a float cache. */
    public KvType valueType() { return vType; }

    /** Bytes held by the K and V arrays. */
    public long bytes() {
        return (long) layers * slots * contextLength * kvHeads * (kBytes + vBytes);
    }

    /** Stores the key and value rows of position {@code pos} of slot {@code slot} of {@code layer}. */
    public void store(int layer, int slot, int pos, float[] k, int kOff, float[] v, int vOff) {
        check(layer, slot, pos);
        if (kMean != null && pos == 0) System.arraycopy(k, kOff, kMean[layer], slot * kvDim, kvDim);
        writeKeyRow(layer, slot, pos, k, kOff);
        write(vType, vf, vh, vq, vBytes, layer, slot, pos, v, vOff);
    }

    /** Position {@code pos}'s keys (kvDim floats, as the model sees them: a rotated type turned back) into out[outOff..]: for a K-shift. */
    public void readKeys(int layer, int slot, int pos, float[] out, int outOff) {
        check(layer, slot, pos);
        read(kType, kf, kh, kq, kBytes, layer, slot, pos, out, outOff);
        if (kMean != null) for (int i = 0; i < kvDim; i++) out[outOff + i] += kMean[layer][slot * kvDim + i];
    }

    /** Position {@code pos}'s values into out[outOff..], as {@link #readKeys}. */
    public void readValues(int layer, int slot, int pos, float[] out, int outOff) {
        check(layer, slot, pos);
        read(vType, vf, vh, vq, vBytes, layer, slot, pos, out, outOff);
    }

    /** Replaces position {@code pos}'s keys with kvDim floats from k[kOff..], encoded as {@link #store} does: for a K-shift. */
    public void writeKeys(int layer, int slot, int pos, float[] k, int kOff) {
        check(layer, slot, pos);
        writeKeyRow(layer, slot, pos, k, kOff);
    }

    /** A key row stored as its type does, centred on the slot's key mean first when it has one. */
    private void writeKeyRow(int layer, int slot, int pos, float[] k, int kOff) {
        if (kMean == null) {
            write(kType, kf, kh, kq, kBytes, layer, slot, pos, k, kOff);
            return;
        }
        float[] centred = new float[kvDim];
        for (int i = 0; i < kvDim; i++) centred[i] = k[kOff + i] - kMean[layer][slot * kvDim + i];
        write(kType, kf, kh, kq, kBytes, layer, slot, pos, centred, 0);
    }

    /** Replaces position {@code pos}'s values, as {@link #writeKeys}. */
    public void writeValues(int layer, int slot, int pos, float[] v, int vOff) {
        check(layer, slot, pos);
        write(vType, vf, vh, vq, vBytes, layer, slot, pos, v, vOff);
    }

    private void check(int layer, int slot, int pos) {
        if (layer < 0 || layer >= layers) throw new IndexOutOfBoundsException("layer " + layer + " of " + layers);
        if (slot < 0 || slot >= slots) throw new IndexOutOfBoundsException("slot " + slot + " of " + slots);
        if (pos < 0 || pos >= contextLength) throw new IndexOutOfBoundsException("position " + pos + " outside the context of " + contextLength);
    }

    private void write(KvType type, float[][] f, short[][] h16, byte[][] q, int bytes, int layer, int slot, int pos, float[] x, int xOff) {
        for (int h = 0; h < kvHeads; h++) writeHead(type, f, h16, q, bytes, layer, at(slot, h, pos), x, xOff + h * headDim);
    }

    private void read(KvType type, float[][] f, short[][] h16, byte[][] q, int bytes, int layer, int slot, int pos, float[] out, int outOff) {
        for (int h = 0; h < kvHeads; h++) readHead(type, f, h16, q, bytes, layer, at(slot, h, pos), out, outOff + h * headDim);
    }

    /** One head vector (headDim floats from x[off..]) stored at element {@code at} of a side, encoded as its type is. */
    private void writeHead(KvType type, float[][] f, short[][] h16, byte[][] q, int bytes, int layer, int at, float[] x, int off) {
        if (type == null) System.arraycopy(x, off, f[layer], at, headDim);
        else if (type == KvType.F16) toHalf(x, off, h16[layer], at, headDim);
        else type.encode(x, off, headDim, q[layer], at / headDim * bytes);
    }

    private void readHead(KvType type, float[][] f, short[][] h16, byte[][] q, int bytes, int layer, int at, float[] out, int off) {
        if (type == null) System.arraycopy(f[layer], at, out, off, headDim);
        else if (type == KvType.F16) for (int i = 0; i < headDim; i++) out[off + i] = Float.float16ToFloat(h16[layer][at + i]);
        else type.decode(q[layer], at / headDim * bytes, headDim, out, off);
    }

    /** Rotates one KV head's key in place: {@code headDim} floats of {@code row} from {@code off}, in a given layer. */
    @FunctionalInterface
    public interface KeyRotation {
        void rotate(int layer, float[] row, int off);
    }

    /**
     * Moves positions [from, from+count) of a slot to [to, to+count) in every layer (to ≤ from, as a
     * context shift moves them), each key head passed through {@code rotateKey} in floats on the way
     * (a quantized key is decoded and encoded again, as llama.cpp's K-shift of a quantized cache
     * does); values move as they are stored.
     */
    public void moveAndRotate(int slot, int from, int to, int count, KeyRotation rotateKey) {
        if (slot < 0 || slot >= slots) throw new IndexOutOfBoundsException("slot " + slot + " of " + slots);
        if (to < 0 || to > from || from + count > contextLength) {
            throw new IndexOutOfBoundsException("cannot move positions " + from + ".." + (from + count) + " to " + to + " in " + contextLength);
        }
        float[] row = new float[headDim];
        for (int layer = 0; layer < layers; layer++) {
            for (int h = 0; h < kvHeads; h++) {
                // One head's positions are one contiguous run: values move as one block of their stored
                // form, keys a row at a time (decoded, turned, encoded again), upwards (to ≤ from).
                int src = at(slot, h, from), dst = at(slot, h, to);
                if (vType == null) System.arraycopy(vf[layer], src, vf[layer], dst, count * headDim);
                else if (vType == KvType.F16) System.arraycopy(vh[layer], src, vh[layer], dst, count * headDim);
                else System.arraycopy(vq[layer], src / headDim * vBytes, vq[layer], dst / headDim * vBytes, count * vBytes);
                int meanAt = (slot * kvHeads + h) * headDim;
                for (int t = 0; t < count; t++) {
                    readHead(kType, kf, kh, kq, kBytes, layer, src + t * headDim, row, 0);
                    if (kMean != null) for (int i = 0; i < headDim; i++) row[i] += kMean[layer][meanAt + i];
                    rotateKey.rotate(layer, row, 0);
                    if (kMean != null) for (int i = 0; i < headDim; i++) row[i] -= kMean[layer][meanAt + i];
                    writeHead(kType, kf, kh, kq, kBytes, layer, dst + t * headDim, row, 0);
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
