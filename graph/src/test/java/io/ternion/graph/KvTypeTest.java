package io.ternion.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Q8_0Codec;
import io.ternion.gguf.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The KV cache types' byte layouts and codecs, and the rotation of the rotated ones. */
class KvTypeTest {
    @Test
    void bytesPerHeadFollowTheBlocks() {
        // headDim 128: four whole blocks; 8: one short block (stories260K); 80: two blocks and one of 16.
        int[][] want = {
                {256, 16, 160}, // F16
                {136, 10, 86},  // Q8_0: 4·34; 2+8; 2·34+2+16
                {72, 6, 46},    // Q4_0: 4·18; 2+4; 2·18+2+8
                {72, 6, 46},    // TURBO4: as Q4_0
                {56, 5, 36}};   // TURBO3: 4·(2+8+4); 2+2+1; 2·14+2+4+2
        int[] dims = {128, 8, 80};
        for (KvType t : KvType.values()) {
            for (int i = 0; i < dims.length; i++) assertEquals(want[t.ordinal()][i], t.bytesPerHead(dims[i]), t + " at " + dims[i]);
        }
        assertEquals(3.5, KvType.TURBO3.bitsPerElement(128));
        assertEquals(4.5, KvType.TURBO4.bitsPerElement(128));
        assertEquals(8.5, KvType.Q8_0.bitsPerElement(128));
    }

    @Test
    void q8_0IsGgmlsQ8_0OfTheRotatedHead() {
        float[] x = gaussian(new SplittableRandom(1), 64);
        byte[] ours = new byte[KvType.Q8_0.bytesPerHead(64)];
        KvType.Q8_0.encode(x, 0, 64, ours, 0);
        float[] rotated = x.clone();
        KvRotation.forward(rotated, 0, 64);
        assertArrayEquals(new Q8_0Codec().quantize(rotated), ours);
        assertArrayEquals(Tensor.of("q", GgmlType.Q8_0, new long[] {64, 1}, ours).dequantize(), stored(KvType.Q8_0, ours, 64));
    }

    @Test
    void q4_0DecodesAsGgmlsQ4_0() {
        float[] x = gaussian(new SplittableRandom(2), 96);
        byte[] ours = new byte[KvType.Q4_0.bytesPerHead(96)];
        KvType.Q4_0.encode(x, 0, 96, ours, 0);
        assertArrayEquals(Tensor.of("q", GgmlType.Q4_0, new long[] {96, 1}, ours).dequantize(), stored(KvType.Q4_0, ours, 96));
        // ggml's choice of d: the rotated value of largest magnitude maps to code 0 exactly.
        KvRotation.forward(x, 0, 96);
        int big = 0;
        for (int i = 1; i < 32; i++) if (Math.abs(x[i]) > Math.abs(x[big])) big = i;
        float[] back = stored(KvType.Q4_0, ours, 96);
        assertEquals(x[big], back[big], Math.abs(x[big]) * 1e-3);
    }

    @Test
    void turbo3AndTurbo4PackTheirIndicesAsDocumented() {
        // One block of 8, scale 1.0 (f16 0x3C00), indices 0..7 in order.
        byte[] t3 = {0x00, 0x3C, (byte) 0xE4, (byte) 0xE4, (byte) 0xF0};
        float[] got = new float[8];
        KvType.TURBO3.decodeStored(t3, 0, 8, got, 0);
        assertArrayEquals(KvType.TURBO3.codebook(), got);
        // TURBO4, scale 2: element j in the low nibble of byte j, j + 4 in the high one; indices 0, 15, 1, 14, 2, 13, 3, 12.
        byte[] t4 = {0x00, 0x40, (byte) 0x20, (byte) 0xDF, (byte) 0x31, (byte) 0xCE};
        KvType.TURBO4.decodeStored(t4, 0, 8, got, 0);
        float[] c = KvType.TURBO4.codebook();
        assertArrayEquals(new float[] {2 * c[0], 2 * c[15], 2 * c[1], 2 * c[14], 2 * c[2], 2 * c[13], 2 * c[3], 2 * c[12]}, got);
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void encodingThenDecodingIsCloseAndStable(KvType t) {
        // What each type keeps of heads with one outlier channel (as K has), relative RMS error.
        double[] bound = {5e-4, 2e-2, 0.2, 0.11, 0.21};
        SplittableRandom rnd = new SplittableRandom(3);
        for (int headDim : new int[] {128, 80, 8}) {
            double err = 0, norm = 0;
            for (int rep = 0; rep < 50; rep++) {
                float[] x = gaussian(rnd, headDim);
                x[3] *= 12;
                byte[] code = new byte[t.bytesPerHead(headDim) + 3];
                t.encode(x, 0, headDim, code, 3);
                float[] y = decoded(t, Arrays.copyOfRange(code, 3, code.length), headDim);
                for (int i = 0; i < headDim; i++) {
                    err += (y[i] - x[i]) * (y[i] - x[i]);
                    norm += x[i] * x[i];
                }
                // Encoding what was decoded gives values as close again: no drift for a K-shift that re-encodes.
                byte[] again = new byte[t.bytesPerHead(headDim)];
                t.encode(y, 0, headDim, again, 0);
                float[] z = decoded(t, again, headDim);
                for (int i = 0; i < headDim; i++) assertEquals(y[i], z[i], 0.05 * Math.sqrt(norm / (rep + 1) / headDim) + 1e-6, t + " re-encoded");
            }
            double rel = Math.sqrt(err / norm);
            assertTrue(rel < bound[t.ordinal()], t + " at headDim " + headDim + ": relative error " + rel);
        }
    }

    @Test
    void theRotationHelpsWhereOneChannelDominates() {
        // The same bytes as ggml's Q8_0 of the head unrotated, but the outlier no longer sets every
        // other value's step (with heads of 8, as stories260K's, too).
        SplittableRandom rnd = new SplittableRandom(4);
        for (int headDim : new int[] {128, 8}) {
            double plain = 0, rotated = 0;
            for (int rep = 0; rep < 50; rep++) {
                float[] x = gaussian(rnd, headDim);
                x[5] *= 20;
                for (int b = 0; b < headDim; b += KvType.BLOCK) {
                    // ggml's Q8_0 of the block as it is (d rounded to f16 as stored).
                    int n = Math.min(KvType.BLOCK, headDim - b);
                    float amax = 0;
                    for (int i = b; i < b + n; i++) amax = Math.max(amax, Math.abs(x[i]));
                    float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127));
                    for (int i = b; i < b + n; i++) {
                        float y = Math.round(x[i] * (127 / amax)) * d;
                        plain += (y - x[i]) * (y - x[i]);
                    }
                }
                rotated += error(KvType.Q8_0, x);
            }
            assertTrue(rotated < 0.7 * plain, "q8_0 at " + headDim + ": " + rotated + " rotated vs " + plain + " plain");
        }
    }

    @Test
    void zerosStayZeros() {
        for (KvType t : KvType.values()) {
            byte[] code = new byte[t.bytesPerHead(64)];
            Arrays.fill(code, (byte) 0x55);
            t.encode(new float[64], 0, 64, code, 0);
            assertArrayEquals(new float[64], decoded(t, code, 64), 0f, t.toString());
        }
    }

    @Test
    void theRotationIsOrthogonalAndItsOwnInverse() {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int headDim : new int[] {2, 8, 80, 128, 256}) {
            float[] q = gaussian(rnd, headDim), k = gaussian(rnd, headDim);
            float[] rq = q.clone(), rk = k.clone();
            KvRotation.forward(rq, 0, headDim);
            KvRotation.forward(rk, 0, headDim);
            assertEquals(dot(q, k), dot(rq, rk), 1e-4 * headDim, "q·k at " + headDim);
            KvRotation.inverse(rq, 0, headDim);
            for (int i = 0; i < headDim; i++) assertEquals(q[i], rq[i], 1e-5, "back at " + headDim);
        }
        // A block of 2 by hand: R·(1, 0) = (s0, s0)/√2.
        float[] x = {1, 0};
        KvRotation.forward(x, 0, 2);
        float s = KvRotation.sign(0) / (float) Math.sqrt(2);
        assertArrayEquals(new float[] {s, s}, x, 1e-7f);
        assertEquals(16, KvRotation.blockLength(80));
        assertEquals(128, KvRotation.blockLength(128));
        // The signs are not all alike (a rotation by H alone would leave a constant vector on one axis).
        float[] signs = KvRotation.signs(128);
        int plus = 0;
        for (float f : signs) if (f > 0) plus++;
        assertTrue(plus > 40 && plus < 88, plus + " of 128 signs positive");
    }

    @Test
    void theCodebooksAreLloydMaxForAGaussian() {
        // Each value is the mean of a unit Gaussian over its cell (between the boundaries around it).
        for (KvType t : new KvType[] {KvType.TURBO3, KvType.TURBO4}) {
            float[] c = t.codebook(), b = t.boundaries();
            for (int i = 0; i < c.length; i++) {
                double lo = i == 0 ? -10 : b[i - 1], hi = i == c.length - 1 ? 10 : b[i];
                double mass = 0, first = 0;
                int steps = 20000;
                for (int s = 0; s < steps; s++) {
                    double u = lo + (hi - lo) * (s + 0.5) / steps, p = Math.exp(-u * u / 2);
                    mass += p;
                    first += u * p;
                }
                assertEquals(first / mass, c[i], 2e-3, t + " value " + i);
            }
        }
    }

    @Test
    void namesAreLlamaCpps() {
        assertEquals(KvType.Q8_0, KvType.parse("q8_0"));
        assertEquals(KvType.TURBO3, KvType.parse("TURBO3"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvType.parse("q5_1"));
        assertTrue(e.getMessage().contains("q5_1") && e.getMessage().contains("f16, q8_0, q4_0, turbo4, turbo3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> KvType.Q4_0.bytesPerHead(7));
        assertTrue(e.getMessage().contains("q4_0") && e.getMessage().contains("7"), e.getMessage());
    }

    @Test
    void aBackendWithoutTheTypesRefusesThemByName() {
        Backend f16Only = new Backend() {
            @Override public String name() { return "f16only"; }
            @Override public CompiledModel compile(Graph graph, int contextLength, int maxBatch, int slots) { return null; }
        };
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                () -> f16Only.compile(null, 8, 1, 1, new KvTypes(KvType.F16, KvType.TURBO3)));
        assertTrue(e.getMessage().contains("f16only") && e.getMessage().contains("turbo3"), e.getMessage());
        assertEquals(null, f16Only.compile(null, 8, 1, 1, KvTypes.F16));
    }

    private static double error(KvType t, float[] x) {
        byte[] code = new byte[t.bytesPerHead(x.length)];
        t.encode(x, 0, x.length, code, 0);
        float[] y = decoded(t, code, x.length);
        double e = 0;
        for (int i = 0; i < x.length; i++) e += (y[i] - x[i]) * (y[i] - x[i]);
        return e;
    }

    private static float[] stored(KvType t, byte[] code, int headDim) {
        float[] y = new float[headDim];
        t.decodeStored(code, 0, headDim, y, 0);
        return y;
    }

    private static float[] decoded(KvType t, byte[] code, int headDim) {
        float[] y = new float[headDim];
        t.decode(code, 0, headDim, y, 0);
        return y;
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (Math.sqrt(-2 * Math.log(1 - rnd.nextDouble())) * Math.cos(2 * Math.PI * rnd.nextDouble()));
        return x;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }
}
