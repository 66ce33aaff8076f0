package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/** The in-register conversions, exhaustively (random weights almost never hit subnormals, ±∞ or NaN), and the fixed-order sums. */
class VecTest {

    /** Lanes stored to an array sum as the vector does: bit for bit, over values of mixed magnitudes. */
    @Test
    void storedLanesSumAsTheVector() {
        Random random = new Random(11);
        float[] lanes = new float[3 * Vec.L];
        for (int trial = 0; trial < 2000; trial++) {
            for (int i = 0; i < lanes.length; i++) lanes[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(15) - 7));
            float want = Vec.sum(FloatVector.fromArray(Vec.F, lanes, Vec.L));
            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(Vec.sumLanes(lanes, Vec.L)));
        }
    }

    /**
     * A double vector's sum is the halves' fold (lane i plus lane i + n/2, then quarters, …), the
     * order the softmax and the RMS norm were pinned with; values of mixed magnitudes make any
     * other order (such as lane by lane) round differently.
     */
    @Test
    void doubleSumFoldsHalvesInAFixedOrder() {
        VectorSpecies<Double> d = VectorSpecies.of(double.class, Vec.F.vectorShape());
        Random random = new Random(7);
        int differsFromLaneOrder = 0;
        for (int trial = 0; trial < 2000; trial++) {
            double[] lanes = new double[d.length()];
            for (int i = 0; i < lanes.length; i++) lanes[i] = random.nextGaussian() * Math.pow(10, random.nextInt(33) - 16);
            double[] fold = lanes.clone();
            for (int half = fold.length / 2; half > 0; half /= 2) {
                for (int i = 0; i < half; i++) fold[i] += fold[i + half];
            }
            double laneOrder = 0;
            for (double x : lanes) laneOrder += x;
            if (laneOrder != fold[0]) differsFromLaneOrder++;
            assertEquals(Double.doubleToRawLongBits(fold[0]), Double.doubleToRawLongBits(Vec.sum(DoubleVector.fromArray(d, lanes, 0))));
        }
        if (d.length() > 2) assertTrue(differsFromLaneOrder > 100, "the values must tell the orders apart: " + differsFromLaneOrder);
    }

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
