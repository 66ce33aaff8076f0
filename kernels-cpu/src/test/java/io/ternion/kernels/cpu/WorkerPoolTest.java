package io.ternion.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {

    @Test
    void everyIndexExactlyOnceInContiguousChunks() {
        for (int threads : new int[] {1, 2, 3, 4, 7}) {
            try (WorkerPool pool = new WorkerPool(threads)) {
                assertEquals(threads, pool.threads());
                for (int n : new int[] {0, 1, 2, 3, 5, 7, 8, 13, 64, 100, 1000, 6912}) {
                    AtomicIntegerArray seen = new AtomicIntegerArray(n);
                    pool.parallelFor(n, (from, to) -> {
                        assertTrue(0 <= from && from < to && to <= n, from + ".." + to);
                        for (int i = from; i < to; i++) seen.incrementAndGet(i);
                    });
                    for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i + " of " + n + ", " + threads + " threads");
                }
            }
        }
    }

    @Test
    void reusedAcrossManyCallsOnTheSameThreads() {
        try (WorkerPool pool = new WorkerPool(3)) {
            Set<Thread> used = ConcurrentHashMap.newKeySet();
            AtomicInteger total = new AtomicInteger();
            for (int call = 0; call < 20_000; call++) {
                pool.parallelFor(12, (from, to) -> {
                    used.add(Thread.currentThread());
                    total.addAndGet(to - from);
                });
            }
            assertEquals(20_000 * 12, total.get());
            // The caller and at most two workers, created once.
            assertTrue(used.size() <= 3, used.toString());
            assertTrue(used.contains(Thread.currentThread()));
        }
    }

    @Test
    void aWorkersExceptionReachesTheCaller() {
        try (WorkerPool pool = new WorkerPool(3)) {
            RuntimeException boom = new IllegalStateException("boom");
            for (int bad : new int[] {0, 50, 99}) {
                RuntimeException e = assertThrows(RuntimeException.class, () -> pool.parallelFor(100, (from, to) -> {
                    if (from <= bad && bad < to) throw boom;
                }));
                assertSame(boom, e);
            }
            AssertionError error = assertThrows(AssertionError.class, () -> pool.parallelFor(100, (from, to) -> {
                throw new AssertionError("every chunk");
            }));
            assertEquals("every chunk", error.getMessage());
            // Still usable after failures.
            AtomicInteger sum = new AtomicInteger();
            pool.parallelFor(100, (from, to) -> sum.addAndGet(to - from));
            assertEquals(100, sum.get());
        }
    }

    @Test
    void singleThreadRunsInline() {
        try (WorkerPool pool = new WorkerPool(1)) {
            Thread caller = Thread.currentThread();
            pool.parallelFor(10, (from, to) -> {
                assertSame(caller, Thread.currentThread());
                assertEquals(0, from);
                assertEquals(10, to);
            });
        }
    }

    @Test
    void nestedCallsRunInlineInsteadOfDeadlocking() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicInteger inner = new AtomicInteger();
            pool.parallelFor(4, (from, to) -> {
                for (int i = from; i < to; i++) pool.parallelFor(5, (a, b) -> inner.addAndGet(b - a));
            });
            assertEquals(20, inner.get());
        }
    }

    @Test
    void closeStopsTheWorkers() throws InterruptedException {
        WorkerPool pool = new WorkerPool(3);
        Set<Thread> workers = ConcurrentHashMap.newKeySet();
        pool.parallelFor(64, (from, to) -> {
            if (Thread.currentThread().getName().startsWith("ternion-worker")) workers.add(Thread.currentThread());
        });
        pool.close();
        for (Thread t : workers) {
            t.join(2000);
            assertTrue(!t.isAlive(), t + " still alive");
        }
        assertThrows(IllegalStateException.class, () -> pool.parallelFor(2, (a, b) -> {}));
        assertThrows(IllegalArgumentException.class, () -> new WorkerPool(0));
    }
}
