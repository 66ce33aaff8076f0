package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Ops.softmax's vector exponentials over the whole range they meet, beyond the conformance table's inputs. */
class SoftmaxTest {

    @Test
    void everyExponentialIsWithinTwoUlpOfMathExp() {
        // softmax([0, v, −∞ …]) = [1, e^v, 0 …] / (1 + e^v): the ratio of the first two outputs is e^v
        // up to one rounding of each.
        float[] x = new float[2 * Vec.L + 3];
        SplittableRandom rnd = new SplittableRandom(7);
        for (int it = 0; it < 20_000; it++) {
            float v = it < 100 ? -0.25f * it : (float) (-rnd.nextDouble() * 87);
            java.util.Arrays.fill(x, Float.NEGATIVE_INFINITY);
            x[0] = 0;
            x[1] = v;
            Ops.softmax(x, 0, x.length);
            double want = Math.exp(v);
            assertTrue(Math.abs(x[1] / x[0] - want) <= 3 * Math.ulp((float) want), "e^" + v + ": " + x[1] / x[0] + " vs " + want);
            for (int i = 2; i < x.length; i++) assertEquals(0f, x[i], "e^-inf");
        }
    }

    @Test
    void underflowGivesZeroAndSumsStayOne() {
        float[] x = new float[3 * Vec.L + 1];
        for (int i = 0; i < x.length; i++) x[i] = -i * 5f; // down to e^-240
        Ops.softmax(x, 0, x.length);
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            assertTrue(x[i] >= 0 && x[i] <= 1, "x[" + i + "] = " + x[i]);
            if (i * 5 > 104) assertEquals(0f, x[i], "e^-" + (i * 5) + " is below the smallest float");
            sum += x[i];
        }
        assertEquals(1.0, sum, 1e-6);
        float[] same = new float[Vec.L + 5];
        java.util.Arrays.fill(same, 3.5f);
        Ops.softmax(same, 0, same.length);
        for (float f : same) assertEquals(1f / same.length, f, 1e-7f);
    }
}
