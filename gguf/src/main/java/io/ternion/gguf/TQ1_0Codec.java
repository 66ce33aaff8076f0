package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * TQ1_0 (type 34): blocks of 256 as {@code uint8 qs[48], uint8 qh[4], fp16 d}. Each byte holds base-3
 * digits as a fixed-point fraction, so digit n comes out as {@code ((uint8)(byte·3^n)·3) >> 8}:
 * qs[0..31] hold elements m + 32n (n &lt; 5), qs[32..47] hold 160 + m + 16n, and qh[j] holds
 * 240 + j + 4n (n &lt; 4). Digit t means (t − 1)·d.
 */
public final class TQ1_0Codec implements TypeCodec {
    static final int QK = 256, BYTES = 54;
    private static final int[] POW3 = {1, 3, 9, 27, 81, 243};

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int b = 0; b < count / QK; b++) {
            long base = (first / QK + b) * BYTES;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base + 52));
            int o = outOffset + b * QK;
            for (int n = 0; n < 5; n++) {
                for (int m = 0; m < 32; m++) out[o + 32 * n + m] = (trit(data, base + m, n) - 1) * d;
            }
            for (int n = 0; n < 5; n++) {
                for (int m = 0; m < 16; m++) out[o + 160 + 16 * n + m] = (trit(data, base + 32 + m, n) - 1) * d;
            }
            for (int n = 0; n < 4; n++) {
                for (int j = 0; j < 4; j++) out[o + 240 + 4 * n + j] = (trit(data, base + 48 + j, n) - 1) * d;
            }
        }
    }

    private static int trit(MemorySegment data, long at, int n) {
        int q = ((data.get(Numbers.BYTE, at) & 0xFF) * POW3[n]) & 0xFF;
        return (q * 3) >> 8;
    }

    @Override public boolean canQuantize() { return true; }

    /** {@code quantize_row_tq1_0_ref}: d = max|x|, digits = lroundf(x/d) + 1, most significant first. */
    @Override
    public byte[] quantize(float[] x) {
        int nb = x.length / QK;
        byte[] out = new byte[nb * BYTES];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int b = 0; b < nb; b++) {
            int xb = b * QK, ob = b * BYTES;
            float amax = 0;
            for (int j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[xb + j]));
            float d = amax;
            float id = d != 0 ? 1.0f / d : 0.0f;
            for (int m = 0; m < 32; m++) {
                int q = 0;
                for (int n = 0; n < 5; n++) q = q * 3 + code(x[xb + m + 32 * n], id);
                out[ob + m] = fixedPoint(q);
            }
            for (int m = 0; m < 16; m++) {
                int q = 0;
                for (int n = 0; n < 5; n++) q = q * 3 + code(x[xb + 160 + m + 16 * n], id);
                out[ob + 32 + m] = fixedPoint(q);
            }
            for (int j = 0; j < 4; j++) {
                int q = 0;
                for (int n = 0; n < 4; n++) q = q * 3 + code(x[xb + 240 + j + 4 * n], id);
                out[ob + 48 + j] = fixedPoint(q * 3); // the unused fifth digit is the lowest
            }
            dst.set(Numbers.SHORT, (long) ob + 52, Numbers.floatToHalf(d));
        }
        return out;
    }

    private static int code(float v, float id) {
        return Numbers.roundHalfAway(v * id) + 1;
    }

    /** ceil(q·256/243): the digits as a fraction of 3^5. */
    private static byte fixedPoint(int q) {
        return (byte) ((q * 256 + 242) / 243);
    }
}
