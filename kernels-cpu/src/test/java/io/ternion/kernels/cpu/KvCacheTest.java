package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.graph.conformance.ConformanceTable;
import io.ternion.graph.conformance.Inputs;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A cache of each KV type holds what the type's codec gives back, position by position. */
class KvCacheTest {
    @ParameterizedTest
    @EnumSource(KvType.class)
    void storesReadsAndRewritesOnePositionThroughTheCodec(KvType type) {
        int kvHeads = 3, headDim = 80, kvDim = kvHeads * headDim;
        KvCache cache = new KvCache(2, 2, 5, kvHeads, headDim, new KvTypes(type, KvType.Q8_0));
        assertEquals(2L * 2 * 5 * kvHeads * (type.bytesPerHead(headDim) + KvType.Q8_0.bytesPerHead(headDim)), cache.bytes());
        SplittableRandom rnd = Inputs.random(type.id());
        float[] k = Inputs.floats(rnd, kvDim), v = Inputs.floats(rnd, kvDim), got = new float[kvDim + 1];
        // Position 0's key is the slot's μ (key centring), stored as zeros and read back exactly.
        float[] first = Inputs.floats(rnd, kvDim);
        cache.store(1, 1, 0, first, 0, v, 0);
        cache.readKeys(1, 1, 0, got, 0);
        if (type.centresKeys()) assertArrayEquals(first, java.util.Arrays.copyOf(got, kvDim));
        cache.store(1, 1, 4, k, 0, v, 0);
        cache.readKeys(1, 1, 4, got, 1);
        assertArrayEquals(ConformanceTable.storedKeys(type, k, first, headDim), java.util.Arrays.copyOfRange(got, 1, got.length));
        cache.readValues(1, 1, 4, got, 0);
        assertArrayEquals(ConformanceTable.storedAs(KvType.Q8_0, v, headDim), java.util.Arrays.copyOf(got, kvDim));
        // A K-shift's path: read, change, write back; the neighbours stay as they were.
        cache.store(1, 1, 3, v, 0, k, 0);
        float[] shifted = Inputs.floats(rnd, kvDim);
        cache.writeKeys(1, 1, 4, shifted, 0);
        cache.readKeys(1, 1, 4, got, 0);
        assertArrayEquals(ConformanceTable.storedKeys(type, shifted, first, headDim), java.util.Arrays.copyOf(got, kvDim));
        cache.readKeys(1, 1, 3, got, 0);
        assertArrayEquals(ConformanceTable.storedKeys(type, v, first, headDim), java.util.Arrays.copyOf(got, kvDim));
        assertThrows(IndexOutOfBoundsException.class, () -> cache.readKeys(1, 2, 0, got, 0));
    }

    /**
     * Keys as stories260K's: heads of 8 whose slowly turning RoPE pairs carry an offset of up to 19
     * against a spread of 1–5, the same in every key. Centred on the first key, the cache must lose
     * at most half of what the codec alone (rotated, not centred) loses on the keys as they are.
     */
    @ParameterizedTest
    @EnumSource(value = KvType.class, names = {"Q8_0", "Q4_0", "TURBO4", "TURBO3"})
    void centringKeysWithAChannelOffsetLosesLess(KvType type) {
        int kvHeads = 4, headDim = 8, kvDim = kvHeads * headDim, positions = 200;
        float[] offset = {0, 0, 0, 0, 4, 0.5f, -8, 19};
        KvCache cache = new KvCache(1, 1, positions, kvHeads, headDim, new KvTypes(type, KvType.F16));
        SplittableRandom rnd = new SplittableRandom(16);
        double centred = 0, uncentred = 0;
        float[] k = new float[kvDim], got = new float[kvDim];
        for (int t = 0; t < positions; t++) {
            for (int i = 0; i < kvDim; i++) k[i] = offset[i % headDim] + (float) rnd.nextGaussian() * (1 + i % 5);
            cache.store(0, 0, t, k, 0, k, 0);
            cache.readKeys(0, 0, t, got, 0);
            float[] codec = ConformanceTable.storedAs(type, k, headDim);
            for (int i = 0; i < kvDim; i++) {
                centred += (got[i] - k[i]) * (got[i] - k[i]);
                uncentred += (codec[i] - k[i]) * (codec[i] - k[i]);
            }
        }
        assertTrue(centred < 0.5 * uncentred, type + ": centred " + centred + " vs not " + uncentred);
    }

    @ParameterizedTest
    @EnumSource(value = KvType.class, names = {"Q4_0", "TURBO4", "TURBO3"})
    void anOddHeadSizeIsRefusedByName(KvType type) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KvCache(1, 1, 4, 1, 7, new KvTypes(KvType.F16, type)));
        assertTrue(e.getMessage().contains(type.id()), e.getMessage());
    }
}
