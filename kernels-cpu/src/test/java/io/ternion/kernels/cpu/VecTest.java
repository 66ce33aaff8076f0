package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.ShortVector;
import org.junit.jupiter.api.Test;

/** The in-register conversions, exhaustively: random weights almost never hit subnormals, ±∞ or NaN. */
class VecTest {

    @Test
    void halfToFloatMatchesTheJdkForEveryHalf() {
        short[] halves = new short[Vec.L];
        float[] got = new float[Vec.L];
        for (int h = 0; h < 65536; h += Vec.L) {
            for (int i = 0; i < Vec.L; i++) halves[i] = (short) (h + i);
            Vec.halfToFloat(ShortVector.fromArray(Vec.S, halves, 0)).intoArray(got, 0);
            for (int i = 0; i < Vec.L; i++) {
                float want = Float.float16ToFloat(halves[i]);
                String what = "half 0x" + Integer.toHexString(halves[i] & 0xFFFF);
                // A NaN stays a NaN; whether a signaling one comes back quiet differs between the
                // JDK's interpreted and intrinsic (vcvtph2ps) float16ToFloat, so bits are not compared.
                if (Float.isNaN(want)) assertTrue(Float.isNaN(got[i]), what);
                else assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]), what);
            }
        }
    }

    @Test
    void finiteHalfToFloatMatchesTheJdkForEveryFiniteHalf() {
        short[] halves = new short[Vec.L];
        float[] got = new float[Vec.L];
        int checked = 0;
        for (int h = 0; h < 65536; h += Vec.L) {
            for (int i = 0; i < Vec.L; i++) halves[i] = (short) (h + i);
            Vec.finiteHalfToFloat(ShortVector.fromArray(Vec.S, halves, 0)).intoArray(got, 0);
            for (int i = 0; i < Vec.L; i++) {
                if ((halves[i] & 0x7c00) == 0x7c00) continue; // infinity and NaN are not its domain
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat(halves[i])), Float.floatToRawIntBits(got[i]),
                        "half 0x" + Integer.toHexString(halves[i] & 0xFFFF));
                checked++;
            }
        }
        assertEquals(65536 - 2048, checked);
    }

    /** The F16 cache never holds an infinity, which {@link Vec#finiteHalfToFloat} would misread. */
    @Test
    void theHalfCacheSaturatesInsteadOfOverflowing() {
        KvCache cache = new KvCache(1, 2, 1, 4, true);
        cache.store(0, 0, 1, new float[] {1e6f, -1e6f, 65520f, 1.5f}, 0, new float[] {-70000f, 0f, -0f, 3e-8f}, 0);
        short[] k = cache.kh[0], v = cache.vh[0];
        int at = cache.at(0, 0, 1);
        assertEquals(65504f, Float.float16ToFloat(k[at]));
        assertEquals(-65504f, Float.float16ToFloat(k[at + 1]));
        assertEquals(65504f, Float.float16ToFloat(k[at + 2]), "65520 would round to infinity");
        assertEquals(1.5f, Float.float16ToFloat(k[at + 3]));
        assertEquals(-65504f, Float.float16ToFloat(v[at]));
        assertEquals(0x8000, v[at + 2] & 0xFFFF, "−0 stays −0");
        assertEquals(Float.floatToFloat16(3e-8f), v[at + 3], "subnormals round as before");
    }

    @Test
    void bf16ToFloatMatchesTheReferenceForEveryValue() {
        short[] values = new short[Vec.L];
        float[] got = new float[Vec.L];
        for (int b = 0; b < 65536; b += Vec.L) {
            for (int i = 0; i < Vec.L; i++) values[i] = (short) (b + i);
            Vec.bf16ToFloat(ShortVector.fromArray(Vec.S, values, 0)).intoArray(got, 0);
            for (int i = 0; i < Vec.L; i++) {
                assertEquals(Float.floatToRawIntBits(io.ternion.gguf.Numbers.bf16ToFloat(values[i])), Float.floatToRawIntBits(got[i]));
            }
        }
    }
}
