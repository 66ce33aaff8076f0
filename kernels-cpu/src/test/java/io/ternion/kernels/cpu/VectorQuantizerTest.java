package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ternion.gguf.Numbers;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vectorized activation quantizers against their scalar statements, with exact halves in vector lanes. */
class VectorQuantizerTest {

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

    @Test
    void q8_0BlocksAreTheScalarBlocks() {
        SplittableRandom rnd = new SplittableRandom(6);
        int k = 32 * 40;
        float[] x = new float[k + 3];
        for (int j = 3; j < x.length; j++) {
            int block = (j - 3) / 32;
            // Blocks whose largest |x| is 127 have d = 1 and keep their halves; some are all zero.
            x[j] = block % 7 == 6 ? 0 : block % 2 == 0 ? (rnd.nextInt(254) - 127) + 0.5f : (float) rnd.nextGaussian();
            if (block % 2 == 0 && block % 7 != 6 && (j - 3) % 32 == 5) x[j] = -127f;
        }
        // A corrupt activation (infinite, NaN of either sign) is the largest |x| of its block, as
        // in the reference's Math.max: d is infinite or NaN there, its codes 0.
        x[3 + 32 * 9 + 4] = Float.NEGATIVE_INFINITY;
        x[3 + 32 * 11 + 7] = Float.NaN;
        x[3 + 32 * 15 + 30] = Float.intBitsToFloat(0xffc00001);
        Q8_0Activations a = Q8_0Activations.quantize(x, 3, k, 1);
        byte[] q = new byte[32];
        for (int b = 0; b < k / 32; b++) {
            assertEquals(Q8_0Activations.quantizeBlock(x, 3 + 32 * b, q), a.d[b], "d of block " + b);
            for (int j = 0; j < 32; j++) assertEquals(q[j], a.q[32 * b + j], "block " + b + ", element " + j);
        }
    }

    @Test
    void q8kBlocksAreTheScalarBlocks() {
        SplittableRandom rnd = new SplittableRandom(7);
        int k = 256 * 12;
        float[] x = new float[k + 1];
        for (int j = 1; j < x.length; j++) {
            int block = (j - 1) / 256;
            // Blocks whose largest |x| is 127 have |iscale| = 1 and keep their halves (rounded to
            // even); ties for the largest; an all-zero block.
            x[j] = block == 5 ? 0 : block % 2 == 0 ? (rnd.nextInt(254) - 127) + 0.5f : (float) rnd.nextGaussian();
        }
        x[1 + 256 * 2 + 17] = 127f;
        x[1 + 256 * 2 + 40] = -127f;
        x[1 + 256 * 4 + 3] = -127f;
        Q8KActivations a = Q8KActivations.quantize(x, 1, k, 1, null);
        byte[] q = new byte[256];
        for (int b = 0; b < k / 256; b++) {
            assertEquals(Q8KActivations.quantizeBlock(x, 1 + 256 * b, q), a.d[b], "d of block " + b);
            for (int j = 0; j < 256; j++) assertEquals(q[j], a.q[256 * b + j], "block " + b + ", element " + j);
        }
    }
}
