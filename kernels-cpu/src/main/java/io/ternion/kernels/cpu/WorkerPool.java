package io.ternion.kernels.cpu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of persistent worker threads for data-parallel loops. A decode step makes a few hundred
 * parallel calls of 50 µs to 1 ms each, so starting threads or going through a general executor per
 * call would cost a noticeable share of the step: the workers are created once, spin briefly on a
 * volatile slot between calls, and only then park.
 *
 * <p>The calling thread takes a share of the work. {@code [0, n)} is cut into a few contiguous
 * chunks per thread that threads claim in order from a shared counter, so a thread that the (shared,
 * noisy) machine slows down does not hold back the whole call. (The packed ternary and binary
 * matmuls pass one unit per thread instead: their weights lie in one contiguous stripe per thread,
 * which streams faster than finer chunks balance.) Kernels must give results that do not depend on
 * how a range is cut, so that any thread count computes the same bits.
 *
 * <p>One call at a time: a call made while another is running (from a task, or from another thread)
 * runs inline on its caller rather than deadlocking.
 */
public final class WorkerPool implements AutoCloseable {

    /** A body over the half-open index range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    /**
     * How long a waiting thread spins before it parks: longer than the gap between two kernels of one
     * decode step (so workers are awake for the next call), much shorter than a token.
     */
    private static final long SPIN_NANOS = 100_000;
    /** Chunks per thread: enough to rebalance when a core is taken away, few enough to keep chunks long. */
    private static final int CHUNKS_PER_THREAD = 4;

    private final int threads;
    private final Worker[] workers;
    private final AtomicInteger busy = new AtomicInteger();
    private volatile boolean closed;

    public WorkerPool(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(this, "ternion-worker-" + (i + 1));
            workers[i].start();
        }
    }

    /** A pool with one thread per available processor. */
    public static WorkerPool ofAvailableProcessors() {
        return new WorkerPool(Runtime.getRuntime().availableProcessors());
    }

    public int threads() { return threads; }

    /**
     * Runs {@code task} over {@code [0, n)} split into contiguous chunks and returns when every chunk is
     * done. If tasks throw, the first exception is rethrown here (the others are added to it as
     * suppressed) after all chunks have finished.
     */
    public void parallelFor(int n, RangeTask task) {
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        if (n == 0) return;
        if (closed) throw new IllegalStateException("worker pool is closed");
        if (threads == 1 || n == 1 || !busy.compareAndSet(0, 1)) {
            task.run(0, n);
            return;
        }
        try {
            int helpers = Math.min(workers.length, n - 1);
            int chunks = Math.min(n, (helpers + 1) * CHUNKS_PER_THREAD);
            Job job = new Job(task, n, chunks, Thread.currentThread());
            for (int i = 0; i < helpers; i++) workers[i].post(job);
            job.work();
            job.awaitChunks();
            Throwable error = job.error.get();
            if (error instanceof RuntimeException e) throw e;
            if (error instanceof Error e) throw e;
            if (error != null) throw new IllegalStateException(error);
        } finally {
            busy.set(0);
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) LockSupport.unpark(w);
        for (Worker w : workers) {
            try {
                w.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * One parallelFor call: its chunks, how many are finished, and the first failure. The caller waits
     * for the chunks, not for the helpers: a helper the OS has not scheduled yet finds nothing left
     * and the call does not wait for it (which matters when there are more threads than cores).
     */
    private static final class Job {
        final RangeTask task;
        final int n, chunks;
        final AtomicInteger nextChunk = new AtomicInteger();
        final AtomicInteger doneChunks = new AtomicInteger();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final Thread caller;

        Job(RangeTask task, int n, int chunks, Thread caller) {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
            this.caller = caller;
        }

        /** Claims and runs chunks until none are left; records rather than throws a failure. */
        void work() {
            int c;
            while ((c = nextChunk.getAndIncrement()) < chunks) {
                int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
                try {
                    task.run(from, to);
                } catch (Throwable t) {
                    if (!error.compareAndSet(null, t)) {
                        Throwable first = error.get();
                        if (first != t) first.addSuppressed(t);
                    }
                }
                if (doneChunks.incrementAndGet() == chunks && Thread.currentThread() != caller) LockSupport.unpark(caller);
            }
        }

        void awaitChunks() {
            Spinner spinner = new Spinner();
            while (doneChunks.get() != chunks) spinner.pause(this);
        }
    }

    /**
     * Spins for {@link #SPIN_NANOS}, then parks. Every 64 pauses it reads the clock and yields, so a
     * spinning thread gives its core to a thread that has work when there are more threads than cores.
     */
    private static final class Spinner {
        private final long start = System.nanoTime();
        private int spins;
        private boolean parking;

        void pause(Object blocker) {
            if (parking) {
                LockSupport.park(blocker);
            } else if ((++spins & 63) != 0) {
                Thread.onSpinWait();
            } else if (System.nanoTime() - start < SPIN_NANOS) {
                Thread.yield();
            } else {
                parking = true;
            }
        }
    }

    private static final class Worker extends Thread {
        private static final VarHandle JOB;
        static {
            try {
                JOB = MethodHandles.lookup().findVarHandle(Worker.class, "job", Job.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final WorkerPool pool;
        /** The latest job posted to this worker; cleared by the worker only if no newer one replaced it. */
        private volatile Job job;

        Worker(WorkerPool pool, String name) {
            super(name);
            this.pool = pool;
            setDaemon(true);
        }

        void post(Job j) {
            job = j;
            LockSupport.unpark(this);
        }

        @Override
        public void run() {
            while (true) {
                Job j;
                Spinner spinner = new Spinner();
                while ((j = job) == null) {
                    if (pool.closed) return;
                    spinner.pause(pool);
                }
                j.work();
                JOB.compareAndSet(this, j, null);
            }
        }
    }
}
