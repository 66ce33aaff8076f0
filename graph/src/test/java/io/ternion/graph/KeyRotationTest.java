package io.ternion.graph;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What a context shift rests on: {@link Graph#keyRopes} finds the rotation each layer stored its
 * keys with, and the reference's rope is a pure rotation, so rotating by p and then by −d is
 * rotating by p − d, with the keys' lengths unchanged.
 */
class KeyRotationTest {

    @Test
    void keyRopesAreTheRopesOnTheStoredKeys() {
        Buf h = new Buf("h", 8, false), q = new Buf("q", 8, false), k = new Buf("k", 8, false), v = new Buf("v", 8, false);
        Op.Rope onQ = new Op.Rope(q, 2, 4, 4, 10000f, false), onK = new Op.Rope(k, 2, 4, 2, 500f, true);
        List<Op> ops = List.of(
                new Op.MatMul(null, h, k), onQ, onK, new Op.StoreKv(0, k, v),
                // Layer 1 stores a K written after its last rope: unrotated.
                onK, new Op.MatMul(null, h, k), new Op.StoreKv(1, k, v),
                // Layer 2 stores its K rotated again.
                onQ, onK, new Op.StoreKv(2, k, v));
        Graph g = new Graph(new Graph.Cache(3, 2, 2, 4), List.of(h, q, k, v), ops, q);
        assertArrayEquals(new Op.Rope[] {onK, null, onK}, g.keyRopes());
    }

    @Test
    void ropeThenMinusDropIsRopeAtTheDifference() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (boolean neox : new boolean[] {false, true}) {
            Op.Rope r = new Op.Rope(new Buf("k", 2 * 64, false), 2, 64, 48, 10000f, neox);
            for (int[] pd : new int[][] {{40, 11}, {4095, 2000}, {7, 7}}) {
                float[] x = new float[128];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextDouble(-1, 1);
                float[] shifted = x.clone(), direct = x.clone();
                ReferenceBackend.rope(r, shifted, 0, pd[0]);
                ReferenceBackend.rope(r, shifted, 0, -pd[1]);
                ReferenceBackend.rope(r, direct, 0, pd[0] - pd[1]);
                assertArrayEquals(direct, shifted, 2e-5f, "p " + pd[0] + " d " + pd[1]);
                for (int i = 48; i < 64; i++) assertEquals(x[i], shifted[i], "dims past the rotated ones stay");
                double before = 0, after = 0;
                for (int i = 0; i < x.length; i++) {
                    before += x[i] * x[i];
                    after += shifted[i] * shifted[i];
                }
                assertEquals(before, after, 1e-4 * before, "a rotation keeps the length");
            }
        }
    }
}
