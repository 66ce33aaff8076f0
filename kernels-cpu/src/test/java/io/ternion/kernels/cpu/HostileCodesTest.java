package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Numbers;
import io.ternion.gguf.Tensor;
import io.ternion.graph.conformance.ConformanceTable;
import io.ternion.graph.conformance.ConformanceTable.Case;
import io.ternion.graph.conformance.Inputs;
import io.ternion.graph.conformance.Inputs.Placement;
import io.ternion.graph.conformance.KernelOp;
import io.ternion.graph.conformance.QuantizedReference;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Weight bytes that no quantizer writes, as a corrupted or hostile file holds them, through the
 * packed kernels ({@link MatMul#prepare} and {@link MatMul#matmul}): each either computes what the
 * scalar reference computes or is rejected at packing with an error naming the tensor and the byte.
 * <ul>
 *   <li>TQ1_0: every byte is five base-3 digits as a fixed-point fraction, digit n
 *       {@code ((uint8)(q·3^n)·3) >> 8} ∈ {0, 1, 2} for any q, as llama.cpp decodes it; bytes 243..255
 *       are written by the quantizer itself (digit groups 230..242), and 13 bytes it never writes
 *       (1, 20, 40, …) decode to digits like any other. Nothing to reject: kernel = reference.
 *   <li>TQ2_0 and I2_S: the 2-bit code 3. The references read it as +2 (c − 1), which the kernel's
 *       base-3 triple indices cannot hold, so packing rejects it, naming the first such byte.
 *   <li>Q1_0: every bit is a weight (±d); there is no impossible code. Random bytes: kernel = reference.
 *   <li>Q2_0: every 2-bit code is a weight (−1, 0, +1, +2 times d). Random bytes: kernel = reference.
 * </ul>
 */
class HostileCodesTest {
    private static final int TQ1_BYTES = 54, TQ2_BYTES = 66;

    static Stream<Arguments> tq1HighBytes() {
        return IntStream.rangeClosed(243, 255).mapToObj(Arguments::of);
    }

    /** Byte {@code value} at random places of qs[0..31], qs[32..47] and qh of every block. */
    @ParameterizedTest
    @MethodSource("tq1HighBytes")
    void tq1_0HighBytesComputeWhatTheReferenceComputes(int value) {
        int k = 512, n = 77;
        SplittableRandom rnd = Inputs.random("tq1 high", value);
        byte[] b = Inputs.weights(rnd, GgmlType.TQ1_0, k, n, Placement.HEAP).data().toArray(Numbers.BYTE);
        for (int o = 0; o < b.length; o += TQ1_BYTES) {
            for (int i = 0; i < 4; i++) {
                b[o + rnd.nextInt(32)] = (byte) value;
                b[o + 32 + rnd.nextInt(16)] = (byte) value;
            }
            b[o + 48 + rnd.nextInt(4)] = (byte) value;
        }
        b[48] = b[49] = b[50] = b[51] = b[0] = b[32] = (byte) value; // every qh byte and both qs parts of block 0
        matchesTheReference(tensor(GgmlType.TQ1_0, k, n, b), "TQ1_0 byte " + value);
    }

    /**
     * Every qs and qh byte random in 0..255 (the never-written ones included): the reference's value,
     * and bit for bit the result of the same digits written the quantizer's way.
     */
    @Test
    void tq1_0AnyByteIsItsDigits() {
        int k = 768, n = 130;
        SplittableRandom rnd = Inputs.random("tq1 any byte");
        byte[] b = Inputs.weights(rnd, GgmlType.TQ1_0, k, n, Placement.HEAP).data().toArray(Numbers.BYTE);
        byte[] canonical = b.clone();
        for (int o = 0; o < b.length; o += TQ1_BYTES) {
            for (int i = 0; i < 52; i++) {
                int q = rnd.nextInt(256);
                b[o + i] = (byte) q;
                canonical[o + i] = canonical(q, i < 48 ? 5 : 4);
            }
        }
        Tensor w = tensor(GgmlType.TQ1_0, k, n, b);
        matchesTheReference(w, "TQ1_0 random bytes");
        float[] x = Inputs.floats(rnd, 2 * k);
        float[] y = new float[2 * n], yc = new float[2 * n];
        MatMul.matmul(w, x, 0, 2, y, 0, TestPools.THREE);
        MatMul.matmul(tensor(GgmlType.TQ1_0, k, n, canonical), x, 0, 2, yc, 0, TestPools.THREE);
        assertArrayEquals(yc, y, "random bytes and the quantizer's bytes for their digits");
    }

    /** The byte the quantizer writes for the first {@code count} digits of q (qh: a fifth digit 0). */
    private static byte canonical(int q, int count) {
        int v = 0;
        for (int d = 0, p = 1; d < 5; d++, p *= 3) v = 3 * v + (d < count ? (((q * p) & 0xFF) * 3) >> 8 : 0);
        return (byte) ((v * 256 + 242) / 243);
    }

    static Stream<Arguments> code3Places() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (GgmlType type : new GgmlType[] {GgmlType.TQ2_0, GgmlType.I2_S}) {
            // First row, last row of a full panel, first row of the partial panel, last row; each 2-bit field.
            for (int row : new int[] {0, 63, 64, 76}) for (int field = 0; field < 4; field++) s.add(Arguments.of(type, row, field));
        }
        return s.build();
    }

    /** A code 3 in any row and bit field: rejected at packing, naming the tensor, the byte and its offset. */
    @ParameterizedTest
    @MethodSource("code3Places")
    void code3IsRejectedNamingTheByte(GgmlType type, int row, int field) {
        int k = 512, n = 77;
        SplittableRandom rnd = Inputs.random("code 3", type, row, field);
        byte[] b = Inputs.weights(rnd, type, k, n, Placement.HEAP).data().toArray(Numbers.BYTE);
        int rowBytes = type == GgmlType.TQ2_0 ? k / 256 * TQ2_BYTES : k / 4;
        int block = rnd.nextInt(type == GgmlType.TQ2_0 ? k / 256 : k / 128);
        int at = row * rowBytes + block * (type == GgmlType.TQ2_0 ? TQ2_BYTES : 32) + rnd.nextInt(type == GgmlType.TQ2_0 ? 64 : 32);
        b[at] |= (byte) (3 << 2 * field);
        int value = b[at] & 0xFF;
        Tensor w = tensor(type, k, n, b);
        for (WorkerPool pool : TestPools.BOTH) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MatMul.prepare(w, pool));
            String want = String.format(Locale.ROOT, "%s: byte 0x%02x at offset %d of its data (row %d, block %d) holds code 3", w, value, at, row, block);
            assertTrue(e.getMessage().startsWith(want), () -> "want '" + want + "...', got '" + e.getMessage() + "'");
            float[] y = new float[n];
            assertThrows(IllegalArgumentException.class, () -> MatMul.matmul(w, new float[k], 0, 1, y, 0, pool));
        }
    }

    /** Bytes outside the codes (TQ2_0's fp16 scales, I2_S's scale and padding) may hold 11 bit pairs. */
    @ParameterizedTest
    @MethodSource("ternary2Bit")
    void onlyCodeBytesAreCheckedForCode3(GgmlType type) {
        int k = 512, n = 77;
        SplittableRandom rnd = Inputs.random("not codes", type);
        byte[] b = Inputs.weights(rnd, type, k, n, Placement.HEAP).data().toArray(Numbers.BYTE);
        MemorySegment s = MemorySegment.ofArray(b);
        if (type == GgmlType.TQ2_0) {
            for (int o = 0; o < b.length; o += TQ2_BYTES) s.set(Numbers.SHORT, o + 64, (short) 0x2fff); // 0.1249…, bytes ff 2f
        } else {
            s.set(Numbers.FLOAT, k * n / 4, Float.intBitsToFloat(0x3effffff)); // 0.4999…, bytes ff ff ff 3e
            for (int i = k * n / 4 + 4; i < b.length; i++) b[i] = (byte) 0xff;
        }
        matchesTheReference(tensor(type, k, n, b), type + " scale bytes with 11 pairs");
    }

    static Stream<Arguments> ternary2Bit() {
        return Stream.of(Arguments.of(GgmlType.TQ2_0), Arguments.of(GgmlType.I2_S));
    }

    /** Q1_0: any bits are weights; random bytes, with fp16 scales of either sign, some of them subnormal. */
    @Test
    void q1_0AnyBitsComputeWhatTheReferenceComputes() {
        int k = 384, n = 77;
        SplittableRandom rnd = Inputs.random("q1 any bits");
        byte[] b = new byte[(int) GgmlType.Q1_0.byteSize((long) k * n)];
        rnd.nextBytes(b);
        MemorySegment s = MemorySegment.ofArray(b);
        for (int o = 0, i = 0; o < b.length; o += 18, i++) {
            short d = i % 5 == 0 ? (short) rnd.nextInt(0x400) : Numbers.floatToHalf((float) rnd.nextDouble(0.01, 0.1));
            s.set(Numbers.SHORT, o, (short) (d | rnd.nextInt(2) << 15));
        }
        matchesTheReference(tensor(GgmlType.Q1_0, k, n, b), "Q1_0 random bytes");
    }

    /** Q2_0, both block sizes: every code is a weight (3 is +2); random bytes, scales as for Q1_0. */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q2_0", "Q2_0_128"})
    void q2_0AnyCodesComputeWhatTheReferenceComputes(GgmlType type) {
        int k = 384, n = 77;
        SplittableRandom rnd = Inputs.random("q2 any codes", type);
        byte[] b = new byte[(int) type.byteSize((long) k * n)];
        rnd.nextBytes(b);
        MemorySegment s = MemorySegment.ofArray(b);
        for (int o = 0, i = 0; o < b.length; o += type.blockBytes, i++) {
            short d = i % 5 == 0 ? (short) rnd.nextInt(0x400) : Numbers.floatToHalf((float) rnd.nextDouble(0.01, 0.1));
            s.set(Numbers.SHORT, o, (short) (d | rnd.nextInt(2) << 15));
        }
        matchesTheReference(tensor(type, k, n, b), type + " random bytes");
    }

    /**
     * Q1_0 and Q2_0 scales of exponent 31 (±∞, NaN), which the kernels widen with shifts and then
     * mend (without the mending such a scale widens to a finite 2¹⁶–2¹⁷). The engines multiply a
     * weight block's scale once, by the block's sum over its 32-blocks ({@code sumf += d·sumi} in
     * {@code ggml_vec_dot_q1_0_q8_0}), so a row with one such block is NaN where d is, and else ±∞ by
     * the signs of d and of that sum (NaN where the sum is 0). The sum comes from the reference with
     * that block's scale set to 1 and every other scale to 0, exactly. Every other row computes the
     * reference's products.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q1_0", "Q2_0", "Q2_0_128"})
    void nonFiniteScalesGiveWhatTheEnginesGive(GgmlType type) {
        int k = 384, n = 77, blocksPerRow = k / type.blockSize;
        SplittableRandom rnd = Inputs.random("non-finite scales", type);
        byte[] b = new byte[(int) type.byteSize((long) k * n)];
        rnd.nextBytes(b);
        byte[] unit = b.clone();
        short[] specials = {(short) 0x7c00, (short) 0xfc00, (short) 0x7e00, (short) 0xfd01, (short) 0x7c01};
        float[] special = new float[n]; // each row's non-finite scale, or 0
        for (int o = 0, i = 0; o < b.length; o += type.blockBytes, i++) {
            int row = i / blocksPerRow;
            boolean odd = row % 7 == 3 && i % blocksPerRow == row % blocksPerRow;
            short d = odd ? specials[row / 7 % specials.length] : Numbers.floatToHalf((float) rnd.nextDouble(-0.1, 0.1));
            if (odd) special[row] = Float.float16ToFloat(d);
            MemorySegment.ofArray(b).set(Numbers.SHORT, o, d);
            MemorySegment.ofArray(unit).set(Numbers.SHORT, o, odd ? (short) 0x3c00 : 0);
        }
        Tensor w = tensor(type, k, n, b);
        for (int batch : new int[] {1, 3}) {
            float[] x = Inputs.floats(Inputs.random("non-finite", type, batch), batch * k);
            double[] ref = QuantizedReference.matmul(w, x, batch), blockSums = QuantizedReference.matmul(tensor(type, k, n, unit), x, batch);
            for (WorkerPool pool : TestPools.BOTH) {
                float[] y = new float[batch * n];
                MatMul.matmul(MatMul.prepare(w, pool), x, 0, batch, y, 0, pool);
                for (int i = 0; i < y.length; i++) {
                    int row = i % n;
                    String where = type + " row " + row + " of batch " + i / n + ", " + pool.threads() + " threads";
                    if (special[row] == 0) {
                        assertEquals(ref[i], y[i], 5e-5 * Math.max(1, Math.abs(ref[i])), where);
                    } else {
                        float want = special[row] * (float) Math.signum(blockSums[i]); // NaN for a NaN d or a sum of 0
                        assertEquals(want, y[i], where + " (d " + special[row] + ", block sum " + blockSums[i] + ")");
                    }
                }
            }
        }
    }

    private static Tensor tensor(GgmlType type, int k, int n, byte[] bytes) {
        return new Tensor("blk.0.hostile.weight", type, new long[] {k, n}, Inputs.place(bytes, Placement.NATIVE_ODD));
    }

    /** MatMul.prepare + matmul, batches of 1 and 3, on one thread and three, within the conformance tolerance. */
    private static void matchesTheReference(Tensor w, String what) {
        int k = (int) w.rowLength(), n = (int) w.rows();
        for (int batch : new int[] {1, 3}) {
            float[] x = Inputs.floats(Inputs.random(what, batch), batch * k);
            double[] ref = QuantizedReference.matmul(w, x, batch);
            for (WorkerPool pool : TestPools.BOTH) {
                float[] y = new float[batch * n];
                MatMul.matmul(MatMul.prepare(w, pool), x, 0, batch, y, 0, pool);
                ConformanceTable.check(new Case(KernelOp.MATMUL, w.type(), k, n, batch, 5e-5), what + ", " + pool.threads() + " threads", y, ref);
            }
        }
    }
}
