package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/**
 * A decode step's activations that the threads quantize and tabulate together ({@link
 * TableActivations#split}): every part built once, whoever claims it, and none waited for forever.
 * (The kernels' bits with them, on 1 and 3 threads, are {@link PackedBitsTest}'s.)
 */
class TableActivationsTest {
    private static final int K = 5 * TableActivations.PART + 64;
    /** Threads of their own: the common pool has one thread on a 2-core machine. */
    private static final ExecutorService THREADS = Executors.newFixedThreadPool(3, r -> {
        Thread t = new Thread(r, "table-activations-test");
        t.setDaemon(true);
        return t;
    });

    @Test
    void everyPartIsBuiltOnceWhicheverThreadsAsk() {
        int parts = (K + TableActivations.PART - 1) / TableActivations.PART;
        AtomicIntegerArray built = new AtomicIntegerArray(parts);
        short[] tables = new short[K];
        TableActivations a = TableActivations.split(K, new short[K], new float[K / 32], tables, (from, to) -> {
            built.incrementAndGet(from / TableActivations.PART);
            for (int i = from; i < to; i++) tables[i] = (short) (i % 1000);
        });
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            List<CompletableFuture<short[]>> askers = new ArrayList<>();
            for (int t = 0; t < 3; t++) askers.add(CompletableFuture.supplyAsync(a::tables, THREADS));
            for (CompletableFuture<short[]> f : askers) {
                short[] seen = f.join();
                for (int i = 0; i < K; i++) assertEquals((short) (i % 1000), seen[i], "element " + i);
            }
        });
        for (int p = 0; p < parts; p++) assertEquals(1, built.get(p), "part " + p);
        assertSame(tables, a.tables(), "a later call returns at once with the same tables");
    }

    @Test
    void aFailingPartFailsEveryThreadInsteadOfHangingOne() {
        IllegalStateException boom = new IllegalStateException("part 2 failed");
        TableActivations a = TableActivations.split(K, new short[K], new float[K / 32], new short[K], (from, to) -> {
            if (from == 2 * TableActivations.PART) throw boom;
        });
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            List<CompletableFuture<short[]>> askers = new ArrayList<>();
            for (int t = 0; t < 2; t++) askers.add(CompletableFuture.supplyAsync(a::tables, THREADS));
            for (CompletableFuture<short[]> f : askers) assertSame(boom, assertThrows(CompletionException.class, f::join).getCause());
        });
        assertSame(boom, assertThrows(IllegalStateException.class, a::tables));
    }
}
