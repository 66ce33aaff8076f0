package io.ternion.harness;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class AgreementTest {

    @Test
    void identicalLogitsAgreeExactly() {
        var acc = new Agreement.Accumulator();
        acc.add(new float[] {1, 2, 3}, new float[] {1, 2, 3});
        acc.add(new float[] {-5, 0.5f, 7}, new float[] {-5, 0.5f, 7});
        Agreement a = acc.finish();
        assertEquals(0, a.nmse());
        assertEquals(0, a.maxAbsError());
        assertEquals(100, a.top1AgreementPercent());
        assertEquals(0, a.klMean());
        assertEquals(0, a.klMax());
        assertEquals(2, a.klPerPosition().size());
    }

    @Test
    void knownDifferences() {
        var acc = new Agreement.Accumulator();
        // P_ref = (1/2, 1/2); P_x = softmax(0, ln 3) = (1/4, 3/4): KL = ½ln(½/¼) + ½ln(½/¾) = ½ln(4/3)
        acc.add(new float[] {0, 0}, new float[] {0, (float) Math.log(3)});
        // A shift by a constant leaves the distribution (KL 0) and the top token alone, not the logits.
        acc.add(new float[] {3, 4}, new float[] {5, 6});
        Agreement a = acc.finish();
        assertEquals(0.5 * Math.log(4.0 / 3), a.klPerPosition().get(0), 1e-7);
        assertEquals(0, a.klPerPosition().get(1), 1e-12);
        assertEquals(a.klPerPosition().get(0) / 2, a.klMean(), 1e-12);
        assertEquals(a.klPerPosition().get(0), a.klMax());
        assertEquals(50, a.top1AgreementPercent(), "position 0: argmax 0 (a tie keeps the first) against 1");
        double ln3 = (float) Math.log(3);
        assertEquals((ln3 * ln3 + 4 + 4) / (0 + 0 + 9 + 16), a.nmse(), 1e-7);
        assertEquals(2, a.maxAbsError(), 1e-7);
    }

    @Test
    void negativeLogLikelihood() {
        assertEquals(Math.log(2), Agreement.nll(new float[] {0, 0}, 1), 1e-12);
        assertEquals(Math.log(1 + Math.exp(-3)), Agreement.nll(new float[] {3, 0}, 0), 1e-7);
    }
}
