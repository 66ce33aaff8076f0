package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * TQ2_0 (type 35): blocks of 256 as {@code uint8 qs[64], fp16 d} (the scale comes last). Byte m of
 * half h holds elements 128h + m + 32n at bits 2n..2n+1; code c ∈ {0,1,2} means (c − 1)·d.
 */
public final class TQ2_0Codec implements TypeCodec {
    static final int QK = 256, BYTES = 66;

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BYTES;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base + 64));
            int o = outOffset + b * QK;
            for (int h = 0; h < 2; h++) {
                for (int m = 0; m < 32; m++) {
                    int q = data.get(Numbers.BYTE, base + 32L * h + m) & 0xFF;
                    for (int n = 0; n < 4; n++) {
                        out[o + 128 * h + 32 * n + m] = (((q >> (2 * n)) & 3) - 1) * d;
                    }
                }
            }
        }
    }

    @Override public boolean canQuantize() { return true; }

    /** {@code quantize_row_tq2_0_ref}: d = max|x|, code = lroundf(x/d) + 1. */
    @Override
    public byte[] quantize(float[] x) {
        int nb = x.length / QK;
        byte[] out = new byte[nb * BYTES];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int b = 0; b < nb; b++) {
            int xb = b * QK;
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[xb + j]));
            float d = amax;
            float id = d != 0 ? 1.0f / d : 0.0f;
            for (int h = 0; h < 2; h++) {
                for (int m = 0; m < 32; m++) {
                    int q = 0;
                    for (int n = 0; n < 4; n++) {
                        int c = Numbers.roundHalfAway(x[xb + 128 * h + 32 * n + m] * id) + 1;
                        q |= (c & 3) << (2 * n);
                    }
                    out[b * BYTES + 32 * h + m] = (byte) q;
                }
            }
            dst.set(Numbers.SHORT, (long) b * BYTES + 64, Numbers.floatToHalf(d));
        }
        return out;
    }
}
