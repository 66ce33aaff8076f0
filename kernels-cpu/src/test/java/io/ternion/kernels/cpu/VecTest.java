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
