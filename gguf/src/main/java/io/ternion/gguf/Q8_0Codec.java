package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/** Q8_0 (type 8): blocks of 32 as {@code fp16 d, int8 qs[32]}; value = qs[j]·d. */
public final class Q8_0Codec implements TypeCodec {
    static final int QK = 32, BYTES = 34;

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BYTES;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base));
            for (int j = 0; j < QK; j++) out[outOffset + b * QK + j] = data.get(Numbers.BYTE, base + 2 + j) * d;
        }
    }

    @Override public boolean canQuantize() { return true; }

    /** {@code quantize_row_q8_0_ref}: d = max|x|/127, q = roundf(x/d). */
    @Override
    public byte[] quantize(float[] x) {
        int nb = x.length / QK;
        byte[] out = new byte[nb * BYTES];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int b = 0; b < nb; b++) {
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[b * QK + j]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(Numbers.SHORT, (long) b * BYTES, Numbers.floatToHalf(d));
            for (int j = 0; j < QK; j++) out[b * BYTES + 2 + j] = (byte) Numbers.roundHalfAway(x[b * QK + j] * id);
        }
        return out;
    }
}
