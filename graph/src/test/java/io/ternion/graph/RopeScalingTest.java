package io.ternion.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.graph.conformance.Reference;
import org.junit.jupiter.api.Test;

/**
 * YaRN and linear scaling against numbers worked out by hand (with a calculator, not with this
 * code), for Qwen3's long-context setting: 128 rotated dims, base 1e6, factor 4 over an original
 * context of 32768. A wrong ramp, correction dim or mscale formula fails here even where the
 * backends and the conformance reference would agree with each other.
 */
class RopeScalingTest {
    private static final int DIMS = 128;
    private static final float BASE = 1e6f;
    private static final RopeScaling QWEN3_YARN = RopeScaling.yarn(4f, 32768);

    @Test
    void yarnCorrectionDimsAndMscale() {
        // c(r) = 128·ln(32768/(2π·r))/(2·ln 1e6): c(32) = 23.596 → floor 23; c(1) = 39.651 → ceil 40.
        assertArrayEquals(new float[] {23f, 40f}, QWEN3_YARN.correctionDims(DIMS, BASE));
        // 1 + 0.1·ln 4.
        assertEquals(1.1386294361, QWEN3_YARN.mscale(), 1e-7);
        // The clamps: a short original context puts the start below 0; a long one, at base 1e4, the end past dims − 1.
        assertArrayEquals(new float[] {0f, 11f}, RopeScaling.yarn(4f, 64).correctionDims(DIMS, BASE));
        assertEquals(DIMS - 1f, RopeScaling.yarn(4f, 1 << 30).correctionDims(DIMS, 10000f)[1]);
    }

    /**
     * The angle of each pair at position 1, read back from the rotation of (1, 0): θ_ext = 1e6^(−i/64);
     * below pair 23 that angle, above pair 40 a quarter of it, between them the blend with the ramp
     * (at pair 30: 10/17 of θ_ext and 7/17 of θ_ext/4); every pair scaled by the mscale.
     */
    @Test
    void yarnAnglesByHand() {
        double[][] pairAngle = {
                {0, 1.0},
                {23, 0.006978305848598663},
                {30, 0.001064360981247002},
                {40, 4.445698525097307e-05},
                {63, 3.102344401879299e-07}};
        checkAngles(QWEN3_YARN, pairAngle, 1.1386294361);
    }

    @Test
    void linearAnglesByHand() {
        // Every angle a quarter of θ_ext, cos and sin unscaled.
        double[][] pairAngle = {
                {0, 0.25},
                {30, 0.001539926526059492 / 4},
                {63, 1.2409377607517195e-06 / 4}};
        checkAngles(RopeScaling.linear(4f), pairAngle, 1.0);
    }

    private static void checkAngles(RopeScaling s, double[][] pairAngle, double magnitude) {
        int pairs = DIMS / 2;
        float[] x = new float[DIMS];
        for (int i = 0; i < pairs; i++) x[i] = 1; // NEOX: pair i is (i, i + 64)
        double[] ref = Reference.rope(x, 1, DIMS, DIMS, 1, BASE, true, s);
        float[] corr = s.correctionDims(DIMS, BASE);
        for (double[] pa : pairAngle) {
            int i = (int) pa[0];
            double angle = Math.atan2(ref[i + pairs], ref[i]);
            // ggml's float recurrence for θ_ext drifts by a few float roundings over 63 pairs.
            assertEquals(pa[1], angle, 1e-5 * pa[1], "pair " + i + " of the reference");
            assertEquals(magnitude, Math.hypot(ref[i], ref[i + pairs]), 1e-6, "pair " + i + " magnitude");
            float theta = (float) Math.pow(BASE, -2.0 * i / DIMS);
            assertEquals(pa[1], s.angle(theta, corr, i), 1e-6 * pa[1], "pair " + i + " of RopeScaling.angle");
        }
    }

    @Test
    void noneIsTheIdentityScaling() {
        assertTrue(RopeScaling.NONE.isNone());
        assertEquals(1f, RopeScaling.NONE.mscale());
        assertEquals(0.123f, RopeScaling.NONE.angle(0.123f, RopeScaling.NONE.correctionDims(DIMS, BASE), 5));
        assertTrue(!QWEN3_YARN.isNone() && !RopeScaling.linear(2f).isNone());
    }

    @Test
    void nonsenseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling(0f, 0f, 1f, 32f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling(1f, -1f, 1f, 32f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling(0.5f, 1f, 1f, 32f, 1f, 0));
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling(0.5f, 0f, Float.NaN, 32f, 1f, 0));
    }
}
