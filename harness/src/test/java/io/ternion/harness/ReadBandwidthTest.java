package io.ternion.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.kernels.cpu.WorkerPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each of the probe's patterns reads the whole buffer, on one thread and split over several. */
class ReadBandwidthTest {
    private static ReadBandwidth probe;

    @BeforeAll
    static void allocate() {
        probe = new ReadBandwidth();
    }

    @AfterAll
    static void free() {
        probe.close();
    }

    /**
     * The buffer holds bytes of 1, so every float read is 0x01010101: a pass that skipped any share
     * of the buffer (a thread's half, a row in four) would sum to that much less. The float sums
     * round differently by pattern and thread count, so only to within 1%.
     */
    @ParameterizedTest
    @EnumSource(ReadBandwidth.Pattern.class)
    void everyPatternSumsTheWholeBuffer(ReadBandwidth.Pattern pattern) {
        double expected = (double) (ReadBandwidth.SIZE / 4) * Float.intBitsToFloat(0x01010101);
        for (int threads : new int[] {1, 3}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                assertEquals(expected, probe.sum(pool, pattern), expected * 0.01, pattern + " on " + threads + " threads");
            }
        }
    }

    /** The faster pattern's rate, whichever that is here. */
    @Test
    void measuresMemory() {
        try (WorkerPool pool = new WorkerPool(2)) {
            assertTrue(probe.measure(pool, 0, 1) > 1e8, "a probe slower than 100 MB/s did not measure memory");
        }
    }
}
