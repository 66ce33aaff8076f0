package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ternion.gguf.Numbers;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vectorized I8 quantizer against the scalar formula, with exact halves in the vector body. */
class ActivationI8VectorTest {

    @Test
    void vectorLanesRoundLikeTheScalarReference() {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int k : new int[] {16, 100, 2560}) {
            float[] x = new float[k + 1];
            for (int j = 1; j <= k; j++) {
                // max|x| = 127 makes s = 1, so halves stay halves: ±n.5, ±n, and arbitrary values.
                x[j] = switch (j % 3) {
                    case 0 -> (rnd.nextInt(254) - 127) + 0.5f;
                    case 1 -> rnd.nextInt(255) - 127;
                    default -> (float) (rnd.nextDouble() * 254 - 127);
                };
            }
            x[1 + k / 2] = -127f;
            short[] got = new short[k + 2];
            float s = ActivationI8.quantizeRow(x, 1, k, got, 2);
            assertEquals(1f, s);
            short[] want = new short[k + 2];
            for (int j = 0; j < k; j++) want[2 + j] = (short) Math.clamp(Numbers.roundHalfAway(x[1 + j] * s), -128, 127);
            assertArrayEquals(want, got, "k = " + k);
        }
    }
}
