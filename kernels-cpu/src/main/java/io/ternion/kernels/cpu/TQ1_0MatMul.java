package io.ternion.kernels.cpu;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * TQ1_0 weights (llama.cpp): blocks of 256 as {@code uint8 qs[48], uint8 qh[4], fp16 d}, five base-3
 * digits per byte as a fixed-point fraction: digit n of byte q is {@code ((q·3^n mod 256)·3) >> 8}.
 * qs[0..31] hold elements m + 32n, qs[32..47] hold 160 + m + 16n, qh[j] holds 240 + j + 4n. The
 * digits are unpacked once, at packing, so TQ1_0 runs exactly as TQ2_0 does
 * ({@code ggml_vec_dot_tq1_0_q8_K} computes the same sums), as {@link TernaryKernel} describes.
 *
 * <p>Any byte is valid: {@code (x·3) >> 8} is 0..2 for every x &lt; 256, so a hostile file cannot
 * put a code above 2 into the triple indices. Bytes 243..255 are what the quantizer writes for the
 * digit groups 230..242 (a fixed-point fraction, not the base-3 number), and the 13 bytes it never
 * writes decode to digits as llama.cpp and {@code TQ1_0Codec} decode them (HostileCodesTest).
 */
final class TQ1_0MatMul extends TernaryKernel {
    private static final int QK = 256, BYTES = 54;
    private static final int[] POW3 = {1, 3, 9, 27, 81};

    @Override GgmlType type() { return GgmlType.TQ1_0; }

    @Override boolean scaled() { return true; }

    @Override
    TernaryPanels.Source source(Tensor w) {
        MemorySegment data = w.data();
        int blocks = Math.toIntExact(w.rowLength() / QK);
        return new TernaryPanels.Source() {
            final byte[] bytes = new byte[blocks * BYTES];

            @Override
            public void codes(int r, byte[] codes, int off) {
                MemorySegment.copy(data, Numbers.BYTE, (long) r * bytes.length, bytes, 0, bytes.length);
                for (int i = 0; i < blocks; i++) {
                    int o = i * BYTES;
                    int e = off + QK * i;
                    for (int m = 0; m < 32; m++) digits(bytes, o + m, 5, codes, e + m, 32);
                    for (int m = 0; m < 16; m++) digits(bytes, o + 32 + m, 5, codes, e + 160 + m, 16);
                    for (int j = 0; j < 4; j++) digits(bytes, o + 48 + j, 4, codes, e + 240 + j, 4);
                }
            }

            @Override
            public float scale(int r, int c) {
                return Float.float16ToFloat(data.get(Numbers.SHORT, ((long) r * blocks + c) * BYTES + 52));
            }
        };
    }

    /** The first {@code count} digits of the byte at {@code at} to codes[e + stride·n]. */
    private static void digits(byte[] bytes, int at, int count, byte[] codes, int e, int stride) {
        int q = bytes[at] & 0xFF;
        for (int n = 0; n < count; n++) codes[e + stride * n] = (byte) ((((q * POW3[n]) & 0xFF) * 3) >> 8);
    }
}
