package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The three activation quantizers on hand-picked values: halves, clamps, zero rows, signs. */
class ActivationQuantizerTest {

    @Test
    void i8RoundsHalvesAwayFromZeroAndClamps() {
        // max|x| = 127 gives s = 1, so x·s is x itself: halves show how round() treats them.
        float[] x = {127f, 0.5f, -0.5f, 1.5f, 2.5f, -2.5f, 0.49f, -127f};
        byte[] q = new byte[x.length];
        assertEquals(1f, ActivationI8.quantizeRow(x, 0, x.length, q));
        assertArrayEquals(new byte[] {127, 1, -1, 2, 3, -3, 0, -127}, q);
    }

    @Test
    void i8ZeroRowUsesTheFloorOnMax() {
        float[] x = new float[8];
        byte[] q = new byte[8];
        assertEquals((float) (127 / 1e-5), ActivationI8.quantizeRow(x, 0, 8, q));
        assertArrayEquals(new byte[8], q);
        ActivationI8 a = ActivationI8.quantize(x, 0, 8, 1, null);
        assertArrayEquals(new short[8], Arrays.copyOf(a.q, 8));
    }

    /** A quantization reuses its thread's arrays from the last one, and writes every value it holds. */
    @Test
    void i8ReusesItsThreadsArraysAndOverwritesThem() {
        float[] big = new float[64];
        Arrays.fill(big, 5f);
        ActivationI8 first = ActivationI8.quantize(big, 0, 32, 2, null);
        float[] x = {0, 10, -20, 30, 127};
        ActivationI8 a = ActivationI8.quantize(x, 0, 5, 1, null);
        assertSame(first.q, a.q);
        assertArrayEquals(new short[] {0, 10, -20, 30, 127}, Arrays.copyOf(a.q, 5));
        assertEquals(1f, a.scale[0]);
    }

    @Test
    void i8AppliesTheOrder() {
        float[] x = {0, 10, -20, 30, 127};
        ActivationI8 a = ActivationI8.quantize(x, 0, 5, 1, new int[] {4, 3, 2, 1, 0});
        assertArrayEquals(new short[] {127, 30, -20, 10, 0}, Arrays.copyOf(a.q, 5));
    }

    @Test
    void q8kTakesTheSignOfTheLargestAndRoundsHalvesToEven() {
        float[] x = new float[256];
        x[0] = -127f; // the largest |x| is negative: iscale = +1, d = 1
        x[1] = 0.5f;
        x[2] = 1.5f;
        x[3] = 2.5f;
        x[4] = -2.5f;
        x[5] = 126.5f;
        byte[] q = new byte[256];
        assertEquals(1f, Q8KActivations.quantizeBlock(x, 0, q));
        assertArrayEquals(new byte[] {-127, 0, 2, 2, -2, 126}, Arrays.copyOf(q, 6));

        x[0] = 127f; // now positive: iscale = −1, every value flips sign
        assertEquals(-1f, Q8KActivations.quantizeBlock(x, 0, q));
        assertArrayEquals(new byte[] {-127, 0, -2, -2, 2, -126}, Arrays.copyOf(q, 6));
    }

    @Test
    void q8kFirstOfEqualMagnitudesWins() {
        float[] x = new float[256];
        x[7] = 3f;
        x[9] = -3f;
        byte[] q = new byte[256];
        assertEquals(-3f / 127f, Q8KActivations.quantizeBlock(x, 0, q), 1e-9f);
        assertEquals(-127, q[7]);
        assertEquals(127, q[9]);
    }

    @Test
    void q8kZeroBlock() {
        float[] x = new float[512];
        Arrays.fill(x, 3f);
        Q8KActivations.quantize(x, 0, 512, 1, null); // this thread's arrays, reused below, now hold values
        Q8KActivations a = Q8KActivations.quantize(new float[512], 0, 512, 1, null);
        assertArrayEquals(new float[2], Arrays.copyOf(a.d, 2));
        assertArrayEquals(new short[512], Arrays.copyOf(a.q, 512));
    }

    @Test
    void q8_0RoundsHalvesAwayAndKeepsAHalfScale() {
        float[] x = new float[32];
        x[0] = 127f; // d = 1
        x[1] = 0.5f;
        x[2] = -0.5f;
        x[3] = 2.5f;
        x[4] = -126.5f;
        byte[] q = new byte[32];
        assertEquals(1f, Q8_0Activations.quantizeBlock(x, 0, q));
        assertArrayEquals(new byte[] {127, 1, -1, 3, -127}, Arrays.copyOf(q, 5));

        // d = 0.1/127 is not a half: the dot product uses it rounded to fp16.
        float[] y = new float[32];
        y[0] = 0.1f;
        float d = Q8_0Activations.quantizeBlock(y, 0, q);
        assertEquals(Float.float16ToFloat(Float.floatToFloat16(0.1f / 127)), d);
        assertEquals(127, q[0]);
    }

    @Test
    void q8_0ZeroBlock() {
        Q8_0Activations a = Q8_0Activations.quantize(new float[64], 0, 64, 1);
        assertArrayEquals(new float[2], a.d);
        assertArrayEquals(new short[64], a.q);
    }
}
