package io.ternion.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The scalar codecs against the byte layouts of {@code shared/docs/formats.md} §2 and §3. Every
 * block here is built byte by byte from the documented layout (or by the small packers at the end,
 * which follow the document, never the codec), so a wrong element order, bit shift, scale offset or
 * rounding rule shows up as a wrong float at a named position.
 */
class TypeCodecTest {

    private static final long SEED = 0x7E51_0AL;

    // ---------------------------------------------------------------- hand-built blocks: plain floats

    @Test
    void f32DecodesLittleEndianBinary32() {
        float[] values = {1.5f, -2.25f, Float.MIN_VALUE, Float.NEGATIVE_INFINITY, -0.0f};
        byte[] bytes = new byte[values.length * 4];
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToRawIntBits(values[i]);
            for (int k = 0; k < 4; k++) bytes[4 * i + k] = (byte) (bits >>> (8 * k));
        }
        assertArrayEquals(values, decode(GgmlType.F32, bytes, values.length));

        // A block size of 1 means any start element is aligned; the start must be in elements, not bytes.
        float[] out = new float[2];
        GgmlType.F32.dequantize(MemorySegment.ofArray(bytes), 3, out, 0, 2);
        assertArrayEquals(new float[] {Float.NEGATIVE_INFINITY, -0.0f}, out);
    }

    @Test
    void f16DecodesLittleEndianHalves() {
        // 0x3C00 = 1, 0xC000 = -2, 0x3555 = 0x1.554p-2, 0x0001 = 2^-24 (smallest subnormal), 0x7C00 = +inf
        byte[] bytes = {0x00, 0x3C, 0x00, (byte) 0xC0, 0x55, 0x35, 0x01, 0x00, 0x00, 0x7C};
        assertArrayEquals(new float[] {1.0f, -2.0f, 0x1.554p-2f, 0x1p-24f, Float.POSITIVE_INFINITY},
                decode(GgmlType.F16, bytes, 5));
    }

    @Test
    void bf16DecodesTheTopHalfOfBinary32() {
        // 0x3F80 = 1, 0xC049 = -3.140625, 0x0001 = the float with bit pattern 0x00010000, 0x7FC0 = NaN
        byte[] bytes = {(byte) 0x80, 0x3F, 0x49, (byte) 0xC0, 0x01, 0x00, (byte) 0xC0, 0x7F};
        float[] out = decode(GgmlType.BF16, bytes, 4);
        assertEquals(1.0f, out[0]);
        assertEquals(-3.140625f, out[1]);
        assertEquals(Float.intBitsToFloat(0x0001_0000), out[2]);
        assertTrue(Float.isNaN(out[3]));
    }

    // ---------------------------------------------------------------- hand-built blocks: §2 types

    @Test
    void q8_0DecodesSignedBytesTimesHalfScale() {
        byte[] bytes = new byte[2 * 34];
        putHalf(bytes, 0, 0.5f);
        for (int j = 0; j < 32; j++) bytes[2 + j] = (byte) (j - 16);
        putHalf(bytes, 34, 2.0f);
        bytes[34 + 2 + 5] = 127;
        bytes[34 + 2 + 6] = -128;
        float[] out = decode(GgmlType.Q8_0, bytes, 64);
        assertEquals(-8.0f, out[0]);
        assertEquals(0.0f, out[16]);
        assertEquals(7.5f, out[31]);
        assertEquals(0.0f, out[32]);
        assertEquals(254.0f, out[37]);
        assertEquals(-256.0f, out[38]);

        // Decoding only the second block must find it at byte 34, not at byte 0.
        float[] second = new float[32];
        GgmlType.Q8_0.dequantize(MemorySegment.ofArray(bytes), 32, second, 0, 32);
        assertEquals(254.0f, second[5]);
        assertEquals(-256.0f, second[6]);
    }

    @Test
    void q4_0PutsTheFirstSixteenInLowNibbles() {
        byte[] bytes = new byte[18];
        putHalf(bytes, 0, 0.5f);
        // low nibble of qs[j] = j, high nibble = 15 - j
        for (int j = 0; j < 16; j++) bytes[2 + j] = (byte) (j | (15 - j) << 4);
        float[] out = decode(GgmlType.Q4_0, bytes, 32);
        assertEquals(-4.0f, out[0]);   // (0 - 8) * 0.5
        assertEquals(-2.5f, out[3]);   // (3 - 8) * 0.5
        assertEquals(3.5f, out[15]);   // (15 - 8) * 0.5
        assertEquals(3.5f, out[16]);   // high nibble of qs[0] = 15
        assertEquals(2.0f, out[19]);   // high nibble of qs[3] = 12
        assertEquals(-4.0f, out[31]);  // high nibble of qs[15] = 0
    }

    @Test
    void q4_KUnpacksSixBitScalesAndMinsOfAllEightSubBlocks() {
        // Sub-blocks 4..7 have scales and mins >= 16, so their top two bits live in scales[0..7]
        // above the 6-bit values of sub-blocks 0..3: both branches of get_scale_min_k4 are exercised.
        int[] sc = {1, 2, 3, 4, 17, 33, 50, 63};
        int[] mn = {5, 6, 7, 8, 18, 35, 49, 62};
        int[] q = new int[256];
        for (int e = 0; e < 256; e++) {
            int r = e % 64;
            q[e] = r < 32 ? r & 0xF : 15 - ((r - 32) & 0xF);
        }
        byte[] bytes = packQ4K(0.5f, 0.25f, sc, mn, q);
        float[] out = decode(GgmlType.Q4_K, bytes, 256);

        // value = d*sc*q - dmin*m with d = 0.5, dmin = 0.25, worked by hand
        assertEquals(-1.25f, out[0]);     // sub 0, q 0:  0 - 0.25*5
        assertEquals(12.5f, out[33]);     // sub 1, q 14: 0.5*2*14 - 0.25*6
        assertEquals(7.25f, out[70]);     // sub 2, q 6:  0.5*3*6 - 0.25*7
        assertEquals(20.0f, out[100]);    // sub 3, q 11: 0.5*4*11 - 0.25*8
        assertEquals(12.5f, out[130]);    // sub 4, q 2:  0.5*17*2 - 0.25*18
        assertEquals(172.75f, out[180]);  // sub 5, q 11: 0.5*33*11 - 0.25*35
        assertEquals(112.75f, out[197]);  // sub 6, q 5:  0.5*50*5 - 0.25*49
        assertEquals(-15.5f, out[255]);   // sub 7, q 0:  0 - 0.25*62
        for (int e = 0; e < 256; e++) {
            int s = e / 32;
            assertEquals(0.5f * sc[s] * q[e] - 0.25f * mn[s], out[e], "element " + e);
        }
    }

    @Test
    void q4_KScaleBytesMatchTheDocumentedBitPositions() {
        // The same scales written byte by byte, without the packer, for sub-blocks 0 and 4 only.
        byte[] bytes = new byte[144];
        putHalf(bytes, 0, 1.0f);
        putHalf(bytes, 2, 1.0f);
        bytes[4 + 0] = (byte) (0b10 << 6 | 9);    // sc[0] = 9, top bits of sc[4] = 2
        bytes[4 + 4] = (byte) (0b01 << 6 | 3);    // m[0] = 3, top bits of m[4] = 1
        bytes[4 + 8] = (byte) (0xA << 4 | 0x5);   // low nibble of sc[4] = 5, of m[4] = 10
        for (int l = 0; l < 32; l++) bytes[16 + 64 + l] = 0x01;  // chunk 2: sub 4 q = 1, sub 5 q = 0
        for (int l = 0; l < 32; l++) bytes[16 + l] = 0x01;       // chunk 0: sub 0 q = 1
        float[] out = decode(GgmlType.Q4_K, bytes, 256);
        assertEquals(6.0f, out[0]);     // sub 0: sc 9, m 3, q 1
        assertEquals(0.0f, out[32]);    // sub 1: sc = m = 0
        assertEquals(11.0f, out[128]);  // sub 4: sc 2<<4|5 = 37, m 1<<4|10 = 26, q 1
        assertEquals(11.0f, out[159]);
        assertEquals(0.0f, out[160]);   // sub 5: sc = m = 0
    }

    @Test
    void q6_KDecodesAllFourQuartersOfBothHalves() {
        byte[] bytes = new byte[210];
        // Signed, distinct scales: with ql = qh = 0 every element is -32*d*sc, so the background
        // alone checks which scale each element uses.
        int[] sc = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16};
        for (int i = 0; i < 16; i++) bytes[192 + i] = (byte) sc[i];
        putHalf(bytes, 208, 0.5f);

        // Half 0, l = 3 (is 0): ql[3] = 0x95, ql[35] = 0x3C, qh[3] = hi bits 2,0,1,3 for q1..q4
        bytes[3] = (byte) 0x95;
        bytes[35] = (byte) 0x3C;
        bytes[128 + 3] = (byte) (3 << 6 | 1 << 4 | 0 << 2 | 2);
        // Half 1, l = 20 (is 1): ql[64+20] = 0x7E, ql[64+52] = 0xA1, qh[32+20] = hi bits 0,3,2,1
        bytes[64 + 20] = (byte) 0x7E;
        bytes[64 + 52] = (byte) 0xA1;
        bytes[128 + 32 + 20] = (byte) (1 << 6 | 2 << 4 | 3 << 2 | 0);

        float[] out = decode(GgmlType.Q6_K, bytes, 256);
        assertEquals(2.5f, out[3]);      // q1: 5 | 2<<4 = 37 -> 5;     0.5*sc[0]*5
        assertEquals(-30.0f, out[35]);   // q2: 12 | 0<<4 -> -20;       0.5*sc[2]*-20
        assertEquals(-17.5f, out[67]);   // q3: 9 | 1<<4 = 25 -> -7;    0.5*sc[4]*-7
        assertEquals(66.5f, out[99]);    // q4: 3 | 3<<4 = 51 -> 19;    0.5*sc[6]*19
        assertEquals(90.0f, out[148]);   // q1: 14 | 0 -> -18;          0.5*sc[9]*-18
        assertEquals(-102.0f, out[180]); // q2: 1 | 3<<4 = 49 -> 17;    0.5*sc[11]*17
        assertEquals(-49.0f, out[212]);  // q3: 7 | 2<<4 = 39 -> 7;     0.5*sc[13]*7
        assertEquals(48.0f, out[244]);   // q4: 10 | 1<<4 = 26 -> -6;   0.5*sc[15]*-6

        assertEquals(-16.0f, out[0]);    // sc[0]
        assertEquals(32.0f, out[16]);    // is = 1: sc[1]
        assertEquals(128.0f, out[127]);  // q4 of l = 31: sc[7]
        assertEquals(-144.0f, out[128]); // second half starts at sc[8]
        assertEquals(256.0f, out[255]);  // sc[15]
        Set<Integer> touched = Set.of(3, 35, 67, 99, 148, 180, 212, 244);
        for (int e = 0; e < 256; e++) {
            if (touched.contains(e)) continue;
            int h = e / 128, r = e % 128;
            assertEquals(-16.0f * sc[8 * h + (r % 32) / 16 + 2 * (r / 32)], out[e], "element " + e);
        }
    }

    @Test
    void q4_KAndQ6_KDecodeRandomBlocksFromTheDocumentedPacking() {
        Random rnd = new Random(SEED);
        for (int trial = 0; trial < 4; trial++) {
            float d = randomHalf(rnd, 0.001f, 2f), dmin = randomHalf(rnd, 0.001f, 2f);
            int[] sc = new int[8], mn = new int[8], q4 = new int[256];
            for (int s = 0; s < 8; s++) { sc[s] = rnd.nextInt(64); mn[s] = rnd.nextInt(64); }
            for (int e = 0; e < 256; e++) q4[e] = rnd.nextInt(16);
            float[] out = decode(GgmlType.Q4_K, packQ4K(d, dmin, sc, mn, q4), 256);
            for (int e = 0; e < 256; e++) {
                // Every product is exact, so the float result is the exact difference rounded once.
                float expected = (float) ((double) d * sc[e / 32] * q4[e] - (double) dmin * mn[e / 32]);
                assertEquals(expected, out[e], "Q4_K element " + e);
            }

            int[] sc6 = new int[16], q6 = new int[256];
            for (int i = 0; i < 16; i++) sc6[i] = rnd.nextInt(256) - 128;
            for (int e = 0; e < 256; e++) q6[e] = rnd.nextInt(64) - 32;
            out = decode(GgmlType.Q6_K, packQ6K(d, sc6, q6), 256);
            for (int e = 0; e < 256; e++) {
                int h = e / 128, r = e % 128;
                float expected = (float) ((double) d * sc6[8 * h + (r % 32) / 16 + 2 * (r / 32)] * q6[e]);
                assertEquals(expected, out[e], "Q6_K element " + e);
            }
        }
    }

    // ---------------------------------------------------------------- hand-built blocks: §3 types

    @Test
    void tq2_0PutsElementMPlus32NAtBits2NWithTheScaleLast() {
        byte[] bytes = new byte[2 * 66];
        Arrays.fill(bytes, 0, 64, (byte) 0x55);  // all codes 1: zero
        putHalf(bytes, 64, 2.0f);
        bytes[5] = (byte) (2 << 6 | 1 << 4 | 0 << 2 | 2);        // half 0, m 5: codes 2,0,1,2
        bytes[32 + 30] = (byte) (1 << 6 | 2 << 4 | 2 << 2 | 0);  // half 1, m 30: codes 0,2,2,1
        Arrays.fill(bytes, 66, 66 + 64, (byte) 0xAA);  // block 1: all codes 2
        putHalf(bytes, 66 + 64, 0.5f);

        float[] out = decode(GgmlType.TQ2_0, bytes, 512);
        assertEquals(2.0f, out[5]);
        assertEquals(-2.0f, out[37]);
        assertEquals(0.0f, out[69]);
        assertEquals(2.0f, out[101]);
        assertEquals(-2.0f, out[158]);
        assertEquals(2.0f, out[190]);
        assertEquals(2.0f, out[222]);
        assertEquals(0.0f, out[254]);
        assertEquals(0.0f, out[6]);
        assertEquals(0.5f, out[256]);
        assertEquals(0.5f, out[511]);

        // Second block alone, into the middle of the output.
        float[] part = new float[300];
        GgmlType.TQ2_0.dequantize(MemorySegment.ofArray(bytes), 256, part, 7, 256);
        assertEquals(0.0f, part[6]);
        assertEquals(0.5f, part[7]);
        assertEquals(0.5f, part[262]);
        assertEquals(0.0f, part[263]);
    }

    @Test
    void tq1_0FixedPointBytesHoldFiveTritsMostSignificantFirst() {
        // The documented example: digits (2,1,0,1,2) are q = 194, stored as ceil(194*256/243) = 205.
        assertEquals(194, 2 * 81 + 1 * 27 + 0 * 9 + 1 * 3 + 2);
        assertEquals(205, tq1Byte(194));
        assertEquals(128, tq1Byte(121));      // five 1-digits: all zero
        assertEquals(127, tq1Byte(40 * 3));   // four 1-digits in a qh byte, shifted up one digit

        byte[] bytes = new byte[54];
        Arrays.fill(bytes, 0, 48, (byte) 128);
        Arrays.fill(bytes, 48, 52, (byte) 127);
        bytes[3] = (byte) 205;                                   // elements 3, 35, 67, 99, 131
        bytes[32 + 7] = (byte) tq1Byte(0 * 81 + 0 * 27 + 2 * 9 + 2 * 3 + 1);  // 167, 183, 199, 215, 231
        bytes[48 + 2] = (byte) tq1Byte((2 * 27 + 0 * 9 + 1 * 3 + 0) * 3);     // 242, 246, 250, 254
        assertEquals(27, bytes[32 + 7] & 0xFF);
        assertEquals(181, bytes[48 + 2] & 0xFF);
        putHalf(bytes, 52, 0.5f);

        float[] out = decode(GgmlType.TQ1_0, bytes, 256);
        float[] expectQs = {0.5f, 0, -0.5f, 0, 0.5f};
        for (int n = 0; n < 5; n++) assertEquals(expectQs[n], out[3 + 32 * n], "element " + (3 + 32 * n));
        float[] expectTail = {-0.5f, -0.5f, 0.5f, 0.5f, 0};
        for (int n = 0; n < 5; n++) assertEquals(expectTail[n], out[167 + 16 * n], "element " + (167 + 16 * n));
        float[] expectQh = {0.5f, -0.5f, 0, -0.5f};
        for (int n = 0; n < 4; n++) assertEquals(expectQh[n], out[242 + 4 * n], "element " + (242 + 4 * n));
        int nonzero = 0;
        for (float v : out) if (v != 0) nonzero++;
        assertEquals(3 + 4 + 3, nonzero);
    }

    @Test
    void i2_SUsesShift6Minus2JDiv32AndOneScaleAfterTheCodes() {
        int n = 256;
        byte[] bytes = new byte[n / 4 + 32];
        Arrays.fill(bytes, 0, n / 4, (byte) 0x55);
        bytes[7] = (byte) (2 << 6 | 0 << 4 | 1 << 2 | 2);        // elements 7, 39, 71, 103
        bytes[32 + 31] = (byte) (0 << 6 | 2 << 4 | 2 << 2 | 0);  // elements 159, 191, 223, 255
        putFloat(bytes, n / 4, 0.25f);
        Arrays.fill(bytes, n / 4 + 4, bytes.length, (byte) 0x7F);  // padding must be ignored

        float[] out = decode(GgmlType.I2_S, bytes, n);
        assertEquals(0.25f, out[7]);
        assertEquals(-0.25f, out[39]);
        assertEquals(0.0f, out[71]);
        assertEquals(0.25f, out[103]);
        assertEquals(-0.25f, out[159]);
        assertEquals(0.25f, out[191]);
        assertEquals(0.25f, out[223]);
        assertEquals(-0.25f, out[255]);
        assertEquals(0.0f, out[8]);

        // The scale belongs to the tensor, so decoding only block 1 still finds it at byte n/4.
        float[] block1 = new float[128];
        GgmlType.I2_S.dequantize(MemorySegment.ofArray(bytes), 128, block1, 0, 128);
        assertEquals(-0.25f, block1[31]);
        assertEquals(0.25f, block1[63]);

        // Likewise through a Tensor row: rows are 128 long here, so row 1 is block 1.
        Tensor t = Tensor.of("w", GgmlType.I2_S, new long[] {128, 2}, bytes);
        float[] row = new float[128];
        t.dequantizeRow(1, row, 0);
        assertArrayEquals(block1, row);
    }

    @Test
    void q1_0IsLsbFirstBitsOfPlusMinusD() {
        byte[] bytes = new byte[2 * 18];
        putHalf(bytes, 0, 0.5f);
        bytes[2] = 0b0000_0101;           // elements 0 and 2 set
        bytes[2 + 15] = (byte) 0x80;      // element 127 set
        putHalf(bytes, 18, 2.0f);
        Arrays.fill(bytes, 20, 36, (byte) 0xFF);
        bytes[20 + 4] = (byte) 0xFE;      // element 128 + 32 clear

        float[] out = decode(GgmlType.Q1_0, bytes, 256);
        assertEquals(0.5f, out[0]);
        assertEquals(-0.5f, out[1]);
        assertEquals(0.5f, out[2]);
        assertEquals(-0.5f, out[3]);
        assertEquals(-0.5f, out[120]);
        assertEquals(0.5f, out[127]);
        assertEquals(2.0f, out[128]);
        assertEquals(-2.0f, out[160]);
        assertEquals(2.0f, out[161]);
        assertEquals(2.0f, out[255]);
    }

    /**
     * Q2_0 in both block sizes: element j is the 2-bit field at bits 2·(j % 4) of qs[j / 4], code c
     * meaning (c − 1)·d. The dot product with x = 1, 2, 3, … is known by hand, so a wrong element
     * order (fields taken from the top, or interleaved as TQ2_0), a wrong +2, or a wrong block size
     * (which misplaces the second block's scale) each change it.
     */
    @ParameterizedTest
    @CsvSource({"Q2_0, 64", "Q2_0_128, 128"})
    void q2_0IsLsbFirstPairsOfMinusOneToPlusTwo(GgmlType type, int qk) {
        int bytesPerBlock = 2 + qk / 4;
        assertEquals(bytesPerBlock, type.blockBytes);
        byte[] bytes = new byte[2 * bytesPerBlock];
        // Block 0, d = 0.5: every element code 1 (0) but elements 0..3 = codes 0, 1, 2, 3 in byte 0,
        // and the last element code 3.
        putHalf(bytes, 0, 0.5f);
        Arrays.fill(bytes, 2, bytesPerBlock, (byte) 0x55);
        bytes[2] = (byte) 0b11_10_01_00;
        bytes[bytesPerBlock - 1] = (byte) 0b11_01_01_01;
        // Block 1, d = 2: every element code 2 (+1) but element 5 (byte 1, bits 2-3) code 0 (−1).
        putHalf(bytes, bytesPerBlock, 2.0f);
        Arrays.fill(bytes, bytesPerBlock + 2, 2 * bytesPerBlock, (byte) 0xAA);
        bytes[bytesPerBlock + 3] = (byte) 0b10_10_00_10;

        float[] out = decode(type, bytes, 2 * qk);
        assertEquals(-0.5f, out[0]);
        assertEquals(0.0f, out[1]);
        assertEquals(0.5f, out[2]);
        assertEquals(1.0f, out[3]);
        assertEquals(0.0f, out[4]);
        assertEquals(1.0f, out[qk - 1]);
        assertEquals(2.0f, out[qk]);
        assertEquals(-2.0f, out[qk + 5]);
        assertEquals(2.0f, out[2 * qk - 1]);

        // Σ out[j]·(j + 1): block 0 gives −0.5·1 + 0.5·3 + 1·4 + 1·qk; block 1 gives 2·Σ(j + 1) over
        // its elements less 4·(qk + 6) for the −1 at element qk + 5.
        double dot = 0;
        for (int j = 0; j < out.length; j++) dot += out[j] * (j + 1.0);
        double block1 = 2.0 * (qk * (qk + 1.0) / 2 + qk * (double) qk) - 4.0 * (qk + 6);
        assertEquals(-0.5 + 1.5 + 4 + qk + block1, dot, 0.0);
    }

    @ParameterizedTest
    @CsvSource({"Q2_0, 64", "Q2_0_128, 128"})
    void q2_0QuantizerScalesByTheLargestMagnitude(GgmlType type, int qk) {
        float[] x = new float[2 * qk];
        for (int j = 0; j < x.length; j++) x[j] = (j % 3 - 1) * 0.75f;  // −, 0, + in turn
        x[3] = -1.5f;   // the block's largest |x|: −1 with d = 1.5
        x[4] = 0.74f;   // below half of d: 0
        x[5] = 0.75f;   // exactly half of d: away from zero, +1
        byte[] bytes = type.quantize(x);
        assertEquals(2 * type.blockBytes, bytes.length);
        assertEquals(Float.floatToFloat16(1.5f), (short) le16(bytes, 0));
        assertEquals(Float.floatToFloat16(0.75f), (short) le16(bytes, type.blockBytes));
        float[] y = decode(type, bytes, x.length);
        assertEquals(-1.5f, y[3]);
        assertEquals(0.0f, y[4]);
        assertEquals(1.5f, y[5]);
        for (int j = qk; j < 2 * qk; j++) assertEquals(x[j], y[j], "element " + j);
        for (int i = 0; i < bytes.length; i++) {
            if (i % type.blockBytes >= 2) assertEquals(0, bytes[i] & (bytes[i] >> 1) & 0x55, "code 3 in byte " + i);
        }
    }

    // ---------------------------------------------------------------- round trips

    @Test
    void floatTypesRoundTrip() {
        Random rnd = new Random(SEED);
        float[] x = new float[1000];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(30) - 20));
        x[0] = -0.0f;
        x[1] = Float.POSITIVE_INFINITY;
        x[2] = Float.MIN_VALUE;
        x[3] = 65504f;  // largest half
        x[4] = 0x1p-24f;

        assertArrayEquals(x, decode(GgmlType.F32, GgmlType.F32.quantize(x), x.length));

        float[] h = decode(GgmlType.F16, GgmlType.F16.quantize(x), x.length);
        float[] b = decode(GgmlType.BF16, GgmlType.BF16.quantize(x), x.length);
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(h[0]));
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(b[0]));
        for (int i = 1; i < x.length; i++) {
            if (Float.isInfinite(x[i])) {
                assertEquals(x[i], h[i]);
                assertEquals(x[i], b[i]);
                continue;
            }
            // Half an ulp of the target format: 13 and 16 fewer fraction bits than binary32; halves
            // below 2^-14 are subnormal with a fixed ulp of 2^-24.
            float halfTol = Math.max(Math.ulp(x[i]) * 0x1p12f, 0x1p-25f);
            assertTrue(Math.abs(h[i] - x[i]) <= halfTol, "F16 element " + i + ": " + x[i] + " -> " + h[i]);
            float bfTol = Math.ulp(x[i]) * 0x1p15f;
            assertTrue(Math.abs(b[i] - x[i]) <= bfTol, "BF16 element " + i + ": " + x[i] + " -> " + b[i]);
        }
    }

    @Test
    void f16AndBf16RoundHalfwayToEven() {
        // 1 + 2^-11 is halfway between 1 and the next half; 1 + 3*2^-11 halfway between two others.
        byte[] h = GgmlType.F16.quantize(new float[] {1 + 0x1p-11f, 1 + 3 * 0x1p-11f});
        assertArrayEquals(new byte[] {0x00, 0x3C, 0x02, 0x3C}, h);

        float[] x = {
            Float.intBitsToFloat(0x3F80_8000),  // halfway, even below: 0x3F80
            Float.intBitsToFloat(0x3F81_8000),  // halfway, odd below: 0x3F82
            Float.intBitsToFloat(0x3F80_8001),  // just above halfway: 0x3F81
            Float.intBitsToFloat(0xBF81_8000),  // negative halfway, odd below: 0xBF82
        };
        byte[] b = GgmlType.BF16.quantize(x);
        assertArrayEquals(new byte[] {(byte) 0x80, 0x3F, (byte) 0x82, 0x3F, (byte) 0x81, 0x3F, (byte) 0x82, (byte) 0xBF}, b);
    }

    @Test
    void bf16KeepsNaNAsQuietNaN() {
        // A signalling NaN whose payload sits only in the low 16 bits would truncate to infinity;
        // ggml sets the quiet bit instead.
        float[] x = {Float.NaN, Float.intBitsToFloat(0x7F80_0001), Float.intBitsToFloat(0xFF80_0001), Float.POSITIVE_INFINITY};
        byte[] b = GgmlType.BF16.quantize(x);
        assertEquals(0x7FC0, le16(b, 2));
        assertEquals(0xFFC0, le16(b, 4));
        assertEquals(0x7F80, le16(b, 6));
        float[] y = decode(GgmlType.BF16, b, x.length);
        assertTrue(Float.isNaN(y[0]));
        assertTrue(Float.isNaN(y[1]));
        assertTrue(Float.isNaN(y[2]));
        assertEquals(Float.POSITIVE_INFINITY, y[3]);
    }

    @Test
    void q8_0RoundTripsWithinHalfAStep() {
        Random rnd = new Random(SEED);
        int blocks = 64;
        float[] x = new float[blocks * 32];
        float[] d = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            // amax = 127*d with d a half, so the stored scale is exactly amax/127 and only the
            // rounding of x/d remains.
            d[b] = randomHalf(rnd, 1e-3f, 8f);
            for (int j = 0; j < 32; j++) x[32 * b + j] = (rnd.nextFloat() * 2 - 1) * 127 * d[b];
            x[32 * b + rnd.nextInt(32)] = (rnd.nextBoolean() ? 127 : -127) * d[b];
        }
        byte[] bytes = GgmlType.Q8_0.quantize(x);
        float[] y = decode(GgmlType.Q8_0, bytes, x.length);
        for (int b = 0; b < blocks; b++) {
            assertEquals(d[b], Float.float16ToFloat((short) le16(bytes, 34 * b)), "block " + b + " scale");
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                assertTrue(Math.abs(y[i] - x[i]) <= d[b] * (0.5f + 1e-5f), "element " + i + ": " + x[i] + " -> " + y[i]);
            }
        }
    }

    @Test
    void q8_0RoundsHalfwayAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127f;  // d = 1, so x*id is x itself
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.5f;
        x[4] = -0.5f;
        x[5] = 1.5f;
        x[6] = 2.4999998f;
        byte[] bytes = GgmlType.Q8_0.quantize(x);
        assertEquals(0x3C00, le16(bytes, 0));
        assertArrayEquals(new byte[] {127, 3, -3, 1, -1, 2, 2}, Arrays.copyOfRange(bytes, 2, 9));
        float[] y = decode(GgmlType.Q8_0, bytes, 32);
        assertEquals(3.0f, y[1]);
        assertEquals(-3.0f, y[2]);
    }

    @Test
    void roundHalfAwayIsCRoundf() {
        assertEquals(3, Numbers.roundHalfAway(2.5f));
        assertEquals(-3, Numbers.roundHalfAway(-2.5f));  // Math.round gives -2
        assertEquals(1, Numbers.roundHalfAway(0.5f));
        assertEquals(-1, Numbers.roundHalfAway(-0.5f));  // Math.round gives 0
        assertEquals(2, Numbers.roundHalfAway(1.5f));
        assertEquals(-2, Numbers.roundHalfAway(-1.5f));
        assertEquals(0, Numbers.roundHalfAway(0.49999997f));  // largest float below 0.5
        assertEquals(0, Numbers.roundHalfAway(-0.49999997f));
        assertEquals(1, Numbers.roundHalfAway(1.4999999f));
        assertEquals(0, Numbers.roundHalfAway(-0.0f));
        assertEquals(8388609, Numbers.roundHalfAway(8388609f));  // 2^23 + 1, already integral
    }

    @Test
    void tqTypesRoundTripTernaryTimesHalfScaleExactly() {
        Random rnd = new Random(SEED);
        int blocks = 6;
        int[] codes = new int[blocks * 256];
        float[] d = new float[blocks];
        float[] x = new float[codes.length];
        for (int b = 0; b < blocks; b++) {
            d[b] = b == 2 ? 0 : randomHalf(rnd, 1e-3f, 4f);  // block 2 all zero: d = 0 must not divide
            for (int j = 0; j < 256; j++) {
                int c = b == 2 ? 1 : rnd.nextInt(3);
                codes[256 * b + j] = c;
                x[256 * b + j] = (c - 1) * d[b];
            }
            if (b != 2) {
                int j = rnd.nextInt(256);
                codes[256 * b + j] = 2;
                x[256 * b + j] = d[b];  // max|x| = d in every non-zero block
            }
        }

        byte[] tq2 = GgmlType.TQ2_0.quantize(x);
        byte[] tq1 = GgmlType.TQ1_0.quantize(x);
        // The quantizers must emit exactly the documented bytes, not just something that decodes back.
        assertArrayEquals(packTq2(codes, d), tq2);
        assertArrayEquals(packTq1(codes, d), tq1);
        float[] y2 = decode(GgmlType.TQ2_0, tq2, x.length);
        float[] y1 = decode(GgmlType.TQ1_0, tq1, x.length);
        assertArrayEquals(x, y2);
        assertArrayEquals(x, y1);
    }

    @Test
    void tq1_0AndTq2_0AgreeOnAnyInput() {
        Random rnd = new Random(SEED + 1);
        float[] x = new float[4 * 256];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        assertArrayEquals(decode(GgmlType.TQ2_0, GgmlType.TQ2_0.quantize(x), x.length),
                decode(GgmlType.TQ1_0, GgmlType.TQ1_0.quantize(x), x.length));
    }

    @Test
    void tqScaleIsMaxAbsAndCodesRoundHalfAway() {
        float[] x = new float[256];
        x[0] = 0.3f;
        x[77] = -2.0f;  // max|x| is negative: d = 2
        x[100] = 1.0f;  // x/d = 0.5 -> +1
        x[101] = -1.0f; // x/d = -0.5 -> -1 (Math.round would give 0)
        x[102] = 0.99f; // below halfway -> 0
        x[200] = 1.9f;
        x[250] = -1.0f; // in TQ1_0's qh part
        for (GgmlType t : new GgmlType[] {GgmlType.TQ2_0, GgmlType.TQ1_0}) {
            byte[] bytes = t.quantize(x);
            int scaleAt = t == GgmlType.TQ2_0 ? 64 : 52;
            assertEquals(2.0f, Float.float16ToFloat((short) le16(bytes, scaleAt)), t + " scale");
            float[] y = decode(t, bytes, 256);
            assertEquals(0.0f, y[0], t.name());
            assertEquals(-2.0f, y[77], t.name());
            assertEquals(2.0f, y[100], t.name());
            assertEquals(-2.0f, y[101], t.name());
            assertEquals(0.0f, y[102], t.name());
            assertEquals(2.0f, y[200], t.name());
            assertEquals(-2.0f, y[250], t.name());
        }
    }

    @Test
    void i2_SRoundTripsTernaryTimesOneScaleExactly() {
        Random rnd = new Random(SEED);
        int n = 4 * 128 * 3;
        float scale = 0.7316f;
        int[] codes = new int[n];
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            codes[i] = rnd.nextInt(3);
            x[i] = (codes[i] - 1) * scale;
        }
        codes[5] = 0;
        x[5] = -scale;

        byte[] bytes = GgmlType.I2_S.quantize(x);
        assertEquals(n / 4 + 32, bytes.length);
        assertArrayEquals(packI2S(codes, scale), bytes);
        assertArrayEquals(x, decode(GgmlType.I2_S, bytes, n));
    }

    @Test
    void i2_SScaleIsTensorMaxAbsAndTinyValuesAreZero() {
        int n = 512;
        float[] x = new float[n];
        x[0] = 0.5f;
        x[1] = -0.5f;
        x[2] = 9e-7f;    // |x| < 1e-6: code 1
        x[3] = -9e-7f;
        x[4] = 2e-6f;    // above the threshold: takes the sign only
        x[300] = -3.0f;  // the tensor's max|x|, in another block and negative
        // block 3 (elements 384..511) stays zero
        byte[] bytes = GgmlType.I2_S.quantize(x);
        assertEquals(3.0f, Float.intBitsToFloat(le32(bytes, n / 4)));
        for (int k = 0; k < 32; k++) assertEquals(0x55, bytes[96 + k] & 0xFF, "all-zero block byte " + k);
        // block 0, byte 4 holds element 4 in bits 7:6 and elements 36, 68, 100 (zero) below
        assertEquals(2 << 6 | 0x15, bytes[4] & 0xFF);
        assertEquals(0x55, bytes[2] & 0xFF);
        float[] y = decode(GgmlType.I2_S, bytes, n);
        assertEquals(3.0f, y[0]);   // sign only: the 0.5 becomes the tensor scale
        assertEquals(-3.0f, y[1]);
        assertEquals(0.0f, y[2]);
        assertEquals(0.0f, y[3]);
        assertEquals(3.0f, y[4]);
        assertEquals(-3.0f, y[300]);
        assertEquals(0.0f, y[400]);

        byte[] zeros = GgmlType.I2_S.quantize(new float[128]);
        for (int k = 0; k < 32; k++) assertEquals(0x55, zeros[k] & 0xFF);
        assertEquals(0.0f, Float.intBitsToFloat(le32(zeros, 32)));
    }

    @Test
    void q1_0RoundTripsPlusMinusHalfScaleExactly() {
        Random rnd = new Random(SEED);
        int blocks = 8;
        int[] bits = new int[blocks * 128];
        float[] d = new float[blocks];
        float[] x = new float[bits.length];
        for (int b = 0; b < blocks; b++) {
            d[b] = randomHalf(rnd, 1e-3f, 4f);
            for (int j = 0; j < 128; j++) {
                bits[128 * b + j] = rnd.nextInt(2);
                x[128 * b + j] = bits[128 * b + j] == 1 ? d[b] : -d[b];
            }
        }
        byte[] bytes = GgmlType.Q1_0.quantize(x);
        assertArrayEquals(packQ1(bits, d), bytes);
        assertArrayEquals(x, decode(GgmlType.Q1_0, bytes, x.length));
    }

    @Test
    void q1_0ScaleIsMeanAbsAndZeroesCountAsPositive() {
        float[] x = new float[128];
        for (int j = 0; j < 128; j++) x[j] = j % 2 == 0 ? 1.0f : -3.0f;  // mean|x| = 2
        x[10] = -0.0f;    // C: -0.0f >= 0.0f is true, so +d (and |x| = 0 lowers the mean)
        x[12] = 0.0f;     // +d
        x[13] = -1e-30f;  // any negative: -d
        byte[] bytes = GgmlType.Q1_0.quantize(x);
        float sum = 0;
        for (float v : x) sum += Math.abs(v);
        assertEquals(251.0f, sum);  // 64*1 + 64*3 less the 1, 1 and 3 replaced above
        float d = 251.0f / 128;     // a half: 251 needs only 8 bits
        assertEquals(Float.floatToFloat16(d), (short) le16(bytes, 0));
        // qs[1] holds elements 8..15: 8 even(+), 9 odd(-), 10 -0(+), 11 odd(-), 12 +0(+), 13 -tiny(-), 14 +, 15 -
        assertEquals(0b0101_0101, bytes[2 + 1] & 0xFF);
        float[] y = decode(GgmlType.Q1_0, bytes, 128);
        assertEquals(d, y[10]);
        assertEquals(d, y[12]);
        assertEquals(-d, y[13]);
        assertEquals(d, y[0]);
        assertEquals(-d, y[1]);
    }

    @Test
    void q1_0MeanAbsIsAFloatSumInElementOrder() {
        // x[0]/128 is exactly halfway between the halves 1 and 1 + 2^-10. The 127 tiny terms are each
        // below half an ulp of x[0], so a float sum in element order (the reference) drops them and
        // the tie rounds to even, 1.0; a double sum, or one that adds the small terms first, lands
        // above the midpoint and gives 1 + 2^-10.
        float[] x = new float[128];
        x[0] = 128 * (1 + 0x1p-11f);
        for (int j = 1; j < 128; j++) x[j] = (j % 2 == 0 ? 1 : -1) * 0x1p-18f;
        byte[] bytes = GgmlType.Q1_0.quantize(x);
        assertEquals(0x3C00, le16(bytes, 0));
    }

    // ---------------------------------------------------------------- geometry and argument checks

    @Test
    void idsAndByteSizes() {
        Object[][] table = {
            // type, id, bytes for 256 elements
            {GgmlType.F32, 0, 1024L}, {GgmlType.F16, 1, 512L}, {GgmlType.Q4_0, 2, 144L},
            {GgmlType.Q8_0, 8, 272L}, {GgmlType.Q4_K, 12, 144L}, {GgmlType.Q6_K, 14, 210L},
            {GgmlType.BF16, 30, 512L}, {GgmlType.TQ1_0, 34, 54L}, {GgmlType.TQ2_0, 35, 66L},
            {GgmlType.I2_S, 36, 96L}, {GgmlType.Q1_0, 41, 36L}, {GgmlType.Q2_0, 42, 72L}, {GgmlType.Q2_0_128, 42, 68L},
        };
        assertEquals(GgmlType.values().length, table.length);
        for (Object[] row : table) {
            GgmlType t = (GgmlType) row[0];
            assertEquals(row[1], t.id, t.name());
            assertEquals(row[2], t.byteSize(256), t.name());
        }
        long n = 2560L * 6912;  // a BitNet 2B4T FFN matrix
        assertEquals(n * 4, GgmlType.F32.byteSize(n));
        assertEquals(n * 2, GgmlType.F16.byteSize(n));
        assertEquals(n * 2, GgmlType.BF16.byteSize(n));
        assertEquals(n / 32 * 34, GgmlType.Q8_0.byteSize(n));
        assertEquals(n / 32 * 18, GgmlType.Q4_0.byteSize(n));
        assertEquals(n / 256 * 144, GgmlType.Q4_K.byteSize(n));
        assertEquals(n / 256 * 210, GgmlType.Q6_K.byteSize(n));
        assertEquals(n / 256 * 54, GgmlType.TQ1_0.byteSize(n));
        assertEquals(n / 256 * 66, GgmlType.TQ2_0.byteSize(n));
        assertEquals(n / 4 + 32, GgmlType.I2_S.byteSize(n));
        assertEquals(4_423_712L, GgmlType.I2_S.byteSize(n));
        assertEquals(n / 128 * 18, GgmlType.Q1_0.byteSize(n));
        assertEquals(n / 64 * 18, GgmlType.Q2_0.byteSize(n));
        assertEquals(n / 128 * 34, GgmlType.Q2_0_128.byteSize(n));
    }

    @Test
    void writableTypesAreExactlyTheDocumentedOnes() {
        for (GgmlType t : GgmlType.values()) {
            boolean writable = t != GgmlType.Q4_0 && t != GgmlType.Q4_K && t != GgmlType.Q6_K;
            assertEquals(writable, t.canQuantize(), t.name());
        }
        assertThrows(UnsupportedOperationException.class, () -> GgmlType.Q4_K.quantize(new float[256]));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.TQ2_0.quantize(new float[128]));
    }

    @Test
    void dequantizeRejectsRangesThatAreNotWholeBlocks() {
        float[] out = new float[1024];
        MemorySegment q8 = MemorySegment.ofArray(new byte[(int) GgmlType.Q8_0.byteSize(256)]);
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q8_0.dequantize(q8, 16, out, 0, 32));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q8_0.dequantize(q8, 0, out, 0, 33));
        MemorySegment tq = MemorySegment.ofArray(new byte[(int) GgmlType.TQ2_0.byteSize(512)]);
        assertThrows(IllegalArgumentException.class, () -> GgmlType.TQ2_0.dequantize(tq, 128, out, 0, 256));
        MemorySegment i2 = MemorySegment.ofArray(new byte[(int) GgmlType.I2_S.byteSize(256)]);
        assertThrows(IllegalArgumentException.class, () -> GgmlType.I2_S.dequantize(i2, 64, out, 0, 128));
        assertThrows(IllegalArgumentException.class, () -> GgmlType.I2_S.dequantize(i2, 0, out, 0, 200));
        MemorySegment q1 = MemorySegment.ofArray(new byte[(int) GgmlType.Q1_0.byteSize(256)]);
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q1_0.dequantize(q1, 0, out, 0, 64));
    }

    @Test
    void tensorChecksByteCountAndRowAlignment() {
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.of("w", GgmlType.I2_S, new long[] {128, 2}, new byte[64]));  // missing trailer
        assertThrows(IllegalArgumentException.class,
                () -> Tensor.of("w", GgmlType.TQ2_0, new long[] {128, 2}, new byte[66]));  // row of half a block
        assertEquals(2, Tensor.of("w", GgmlType.I2_S, new long[] {128, 2}, new byte[96]).rows());
        assertEquals(2, Tensor.of("w", GgmlType.TQ2_0, new long[] {256, 2}, new byte[132]).rows());
    }

    // ---------------------------------------------------------------- helpers: packers from formats.md

    private static float[] decode(GgmlType type, byte[] bytes, int n) {
        float[] out = new float[n];
        type.dequantize(MemorySegment.ofArray(bytes), 0, out, 0, n);
        return out;
    }

    private static void putHalf(byte[] b, int off, float v) {
        short h = Float.floatToFloat16(v);
        assertEquals(v, Float.float16ToFloat(h), "test scale must be a half");
        b[off] = (byte) h;
        b[off + 1] = (byte) (h >> 8);
    }

    private static void putFloat(byte[] b, int off, float v) {
        int bits = Float.floatToRawIntBits(v);
        for (int k = 0; k < 4; k++) b[off + k] = (byte) (bits >>> (8 * k));
    }

    private static int le16(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
    }

    private static int le32(byte[] b, int off) {
        return le16(b, off) | le16(b, off + 2) << 16;
    }

    /** A random value in [lo, hi) rounded to a half, so that storing it as fp16 is lossless. */
    private static float randomHalf(Random rnd, float lo, float hi) {
        return Float.float16ToFloat(Float.floatToFloat16(lo + rnd.nextFloat() * (hi - lo)));
    }

    /** TQ1_0's fixed-point byte for base-3 value q: ceil(q*256/243). */
    private static int tq1Byte(int q) {
        return (q * 256 + 242) / 243;
    }

    /** §2 Q4_K: ggml's packing of 6-bit scales/mins; element e is in sub-block e/32. */
    private static byte[] packQ4K(float d, float dmin, int[] sc, int[] mn, int[] q) {
        byte[] b = new byte[144];
        putHalf(b, 0, d);
        putHalf(b, 2, dmin);
        for (int j = 0; j < 4; j++) {
            b[4 + j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
            b[4 + j + 4] = (byte) (mn[j] | (mn[j + 4] >> 4) << 6);
            b[4 + j + 8] = (byte) ((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
        }
        for (int e = 0; e < 256; e++) {
            int c = e / 64, r = e % 64;
            b[16 + 32 * c + r % 32] |= (byte) (q[e] << (r < 32 ? 0 : 4));
        }
        return b;
    }

    /** §2 Q6_K: quarter k of half h, position l, is q(k+1) of the documented formulas. */
    private static byte[] packQ6K(float d, int[] sc, int[] q) {
        byte[] b = new byte[210];
        for (int e = 0; e < 256; e++) {
            int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
            int u = q[e] + 32;
            b[64 * h + l + 32 * (k % 2)] |= (byte) ((u & 0xF) << (4 * (k / 2)));
            b[128 + 32 * h + l] |= (byte) ((u >> 4) << (2 * k));
        }
        for (int i = 0; i < 16; i++) b[192 + i] = (byte) sc[i];
        putHalf(b, 208, d);
        return b;
    }

    /** §3.1: byte m of half h holds elements 128h + m + 32n at bits 2n. */
    private static byte[] packTq2(int[] codes, float[] d) {
        byte[] b = new byte[codes.length / 256 * 66];
        for (int e = 0; e < codes.length; e++) {
            int blk = e / 256, i = e % 256, h = i / 128, m = i % 32, n = (i % 128) / 32;
            b[66 * blk + 32 * h + m] |= (byte) (codes[e] << (2 * n));
        }
        for (int blk = 0; blk < d.length; blk++) putHalf(b, 66 * blk + 64, d[blk]);
        return b;
    }

    /** §3.2: five (or, in qh, four then a zero) trits per byte, first trit most significant. */
    private static byte[] packTq1(int[] codes, float[] d) {
        byte[] b = new byte[codes.length / 256 * 54];
        int[] pow3 = {81, 27, 9, 3, 1};
        for (int blk = 0; blk < d.length; blk++) {
            int[] q = new int[52];
            for (int i = 0; i < 256; i++) {
                int at, n;
                if (i < 160) { at = i % 32; n = i / 32; }
                else if (i < 240) { at = 32 + (i - 160) % 16; n = (i - 160) / 16; }
                else { at = 48 + (i - 240) % 4; n = (i - 240) / 4; }
                q[at] += codes[256 * blk + i] * pow3[n];
            }
            for (int k = 0; k < 52; k++) b[54 * blk + k] = (byte) tq1Byte(q[k]);
            putHalf(b, 54 * blk + 52, d[blk]);
        }
        return b;
    }

    /** §3.3: element j of a 128-block in byte j%32 at shift 6-2(j/32); the f32 scale at n/4. */
    private static byte[] packI2S(int[] codes, float scale) {
        int n = codes.length;
        byte[] b = new byte[n / 4 + 32];
        for (int e = 0; e < n; e++) {
            int j = e % 128;
            b[32 * (e / 128) + j % 32] |= (byte) (codes[e] << (6 - 2 * (j / 32)));
        }
        putFloat(b, n / 4, scale);
        return b;
    }

    /** §3.5: element j is bit j%8 of qs[j/8]. */
    private static byte[] packQ1(int[] bits, float[] d) {
        byte[] b = new byte[bits.length / 128 * 18];
        for (int e = 0; e < bits.length; e++) {
            int blk = e / 128, j = e % 128;
            b[18 * blk + 2 + j / 8] |= (byte) (bits[e] << (j % 8));
        }
        for (int blk = 0; blk < d.length; blk++) putHalf(b, 18 * blk, d[blk]);
        return b;
    }
}
