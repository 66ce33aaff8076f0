package io.ternion.kernels.cpu;

/**
 * Keys and values of every layer for positions 0..contextLength−1, each position a row of kvDim
 * (nKvHeads·headDim) values. One array per layer for K and one for V, allocated once; as halves
 * ({@code short[]}, IEEE binary16, half the memory, as llama.cpp's default F16 cache) or as floats.
 */
public final class KvCache {
    private final int layers, contextLength, kvDim;
    private final boolean f16;
    final float[][] kf, vf;
    final short[][] kh, vh;

    public KvCache(int layers, int contextLength, int kvDim, boolean f16) {
        if (layers < 1 || contextLength < 1 || kvDim < 1) {
            throw new IllegalArgumentException("layers, contextLength and kvDim must be >= 1: " + layers + ", " + contextLength + ", " + kvDim);
        }
        int perLayer = Math.multiplyExact(contextLength, kvDim);
        this.layers = layers;
        this.contextLength = contextLength;
        this.kvDim = kvDim;
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

    public int contextLength() { return contextLength; }

    public int kvDim() { return kvDim; }

    public boolean f16() { return f16; }

    /** Bytes held by the K and V arrays. */
    public long bytes() {
        return 2L * layers * contextLength * kvDim * (f16 ? 2 : 4);
    }

    /** Stores the key and value rows of position {@code pos} of {@code layer}. */
    public void store(int layer, int pos, float[] k, int kOff, float[] v, int vOff) {
        if (layer < 0 || layer >= layers) throw new IndexOutOfBoundsException("layer " + layer + " of " + layers);
        if (pos < 0 || pos >= contextLength) throw new IndexOutOfBoundsException("position " + pos + " outside the context of " + contextLength);
        int at = pos * kvDim;
        if (f16) {
            toHalf(k, kOff, kh[layer], at, kvDim);
            toHalf(v, vOff, vh[layer], at, kvDim);
        } else {
            System.arraycopy(k, kOff, kf[layer], at, kvDim);
            System.arraycopy(v, vOff, vf[layer], at, kvDim);
        }
    }

    /** Round to nearest even, as ggml's fp32→fp16; C2 turns this loop into vector conversions. */
    private static void toHalf(float[] src, int srcOff, short[] dst, int dstOff, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = Float.floatToFloat16(src[srcOff + i]);
    }
}
