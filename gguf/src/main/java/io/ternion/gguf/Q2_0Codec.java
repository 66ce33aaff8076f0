package io.ternion.gguf;

import java.lang.foreign.MemorySegment;

/**
 * Q2_0 (type 42; PrismML's Ternary Bonsai): blocks of {@code fp16 d, uint8 qs[qk / 4]}. Element j of a
 * block is bits 2·(j % 4)…+1 of qs[j / 4], least significant pair first, and code c means
 * {@code (c − 1)·d}: −1, 0, +1 and +2 times d ({@code dequantize_row_q2_0}, upstream and in the fork).
 * Upstream blocks hold 64 elements (18 bytes); the PrismML fork's first Ternary Bonsai files hold 128
 * (34 bytes) under the same id, which is why there are two types of one codec ({@link TypeResolver}).
 */
public final class Q2_0Codec implements TypeCodec {
    private final int qk, bytes;

    Q2_0Codec(int qk) {
        this.qk = qk;
        this.bytes = 2 + qk / 4;
    }

    @Override
    public void dequantize(MemorySegment data, long first, float[] out, int outOffset, int count) {
        for (int b = 0; b < count / qk; b++) {
            long base = (first / qk + b) * bytes;
            float d = Numbers.halfToFloat(data.get(Numbers.SHORT, base));
            for (int j = 0; j < qk; j++) {
                int code = (data.get(Numbers.BYTE, base + 2 + j / 4) >> (2 * (j % 4))) & 3;
                out[outOffset + b * qk + j] = (code - 1) * d;
            }
        }
    }

    @Override public boolean canQuantize() { return true; }

    /**
     * The reference quantizer as the peer cases' README describes it ({@code quantize_row_q2_0_ref},
     * gguf-py's {@code Q2_0}): d = max|x| over the block, then x/d rounded to −1, 0 or +1 (halves away
     * from zero). It never writes code 3 (+2), which only files written from codes hold.
     */
    @Override
    public byte[] quantize(float[] x) {
        int nb = x.length / qk;
        byte[] out = new byte[nb * bytes];
        MemorySegment dst = MemorySegment.ofArray(out);
        for (int b = 0; b < nb; b++) {
            float amax = 0;
            for (int j = 0; j < qk; j++) amax = Math.max(amax, Math.abs(x[b * qk + j]));
            dst.set(Numbers.SHORT, (long) b * bytes, Numbers.floatToHalf(amax));
            float id = amax != 0 ? 1 / amax : 0;
            for (int j = 0; j < qk; j++) {
                int code = Math.clamp(Numbers.roundHalfAway(x[b * qk + j] * id), -1, 1) + 1;
                out[b * bytes + 2 + j / 4] |= (byte) (code << (2 * (j % 4)));
            }
        }
        return out;
    }
}
