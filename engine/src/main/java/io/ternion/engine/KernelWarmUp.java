package io.ternion.engine;

import io.ternion.gguf.GgufFile;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Graph;
import io.ternion.graph.KvTypes;
import io.ternion.kernels.cpu.CpuBackend;
import java.lang.foreign.Arena;

/**
 * Runs the model's CPU kernels on a small model of the same architecture and weight types (one
 * layer, 256 wide, random weights), on as many threads and over the same KV cache types as the
 * real one, on a background thread while the real one is mapped and repacked, so that the JIT has
 * compiled them when the load ends. Without it the first forward runs the Vector API kernels
 * interpreted until C2 catches up: 14–18 s for Bonsai-1.7B against 0.1 s a step after. The small
 * model's first slow passes cost a fraction of the real one's. It stops by itself once its passes
 * stop getting faster, so as not to hold a core for nothing, and is stopped at the end of the load,
 * where the real model's own warm-up steps take over ({@code Model.settle}). Set {@value #PROPERTY}
 * to false to load without either (to measure what they save; the CLI's {@code --no-warmup}), or to
 * always to warm up even small models (for tests).
 */
final class KernelWarmUp implements AutoCloseable {
    static final String PROPERTY = "ternion.warmup";
    /** Files smaller than this (test models, stories260K) are through their first forward before a warm-up would be. */
    static final long WORTH_IT_BYTES = 64L << 20;
    /** Tokens of the small model. */
    private static final int VOCABULARY_ROWS = 256;
    /** Room for the small model's weights in a mapped file (sparse; a few MiB are used). */
    private static final long SCRATCH_BYTES = 64L << 20;
    /** Prompt tokens per warm-up batch: enough for the batched kernels' row tiles. */
    private static final int BATCH = 16;
    /** Where the last prompt batch of a pass starts: its rows straddle position 64, a block of attention's prompt path. */
    private static final int LATER_BATCH = 50;
    /** Passes in a row within 1.5× of the fastest after which the kernels count as compiled (a pass then takes about 1 ms). */
    private static final int STEADY_PASSES = 100;

    private final Thread thread;
    private volatile boolean stop;
    private volatile int passes;

    private KernelWarmUp(GgufFile file, ModelConfig config, int threads, KvTypes kv) {
        this.thread = Thread.ofPlatform().daemon().name("ternion-warmup").unstarted(() -> run(file, config, threads, kv));
    }

    /**
     * Starts warming up for {@code config}'s model in {@code file}, run on {@code threads} threads
     * with a {@code kv} cache; null when disabled or the model is too small to need it.
     */
    static KernelWarmUp start(GgufFile file, ModelConfig config, int threads, KvTypes kv) {
        String setting = System.getProperty(PROPERTY, "true");
        if (!setting.equals("always") && (!Boolean.parseBoolean(setting) || file.fileSize() < WORTH_IT_BYTES)) return null;
        return begin(file, config, threads, kv);
    }

    /** Starts warming up, whatever the model's size. */
    static KernelWarmUp begin(GgufFile file, ModelConfig config, int threads, KvTypes kv) {
        KernelWarmUp w = new KernelWarmUp(file, config, threads, kv);
        w.thread.start();
        return w;
    }

    /** Warm-up passes run so far (for tests). */
    int passes() { return passes; }

    boolean isRunning() { return thread.isAlive(); }

    private void run(GgufFile file, ModelConfig config, int threads, KvTypes kv) {
        int context = 6 * BATCH;
        Graph graph;
        Arena arena = Arena.ofShared();
        try {
            graph = LlamaGraph.buildLike(file, config.small(VOCABULARY_ROWS), LlamaGraph.mappedScratch(arena, SCRATCH_BYTES));
        } catch (RuntimeException e) {
            arena.close();
            return; // a type without a quantizer to make weights with, say: no head start, nothing else lost
        }
        // As many threads as the real model, over the same cache: C2 compiles only the branches and
        // types it has seen run, so a one-thread warm-up left the real model's first forward to
        // deoptimize a dozen kernels (the worker hand-off, each worker's first thread-local arrays)
        // and run them interpreted until they were compiled again.
        try (arena; CpuBackend cpu = new CpuBackend(threads)) {
            CompiledModel m = cpu.compile(cpu.fuse(graph), context, BATCH, 1, kv);
            float[] logits = new float[VOCABULARY_ROWS];
            int[] prompt = new int[BATCH];
            for (int i = 0; i < BATCH; i++) prompt[i] = (i * 37 + 1) % VOCABULARY_ROWS;
            long fastest = Long.MAX_VALUE;
            int steady = 0;
            while (!stop) {
                long t0 = System.nanoTime();
                // The prompt kernels: batches up to past the first 64 positions, so the JIT sees attention's
                // prompt path over several blocks, with some rows short of the last one (a path never taken
                // while warming up is compiled as a trap, and the real model's first prompt would deoptimize
                // it), and as often as the decode steps, or that path is still compiling when a first prompt comes.
                for (int start = 0; start < LATER_BATCH; start += BATCH) m.forward(prompt, start, logits);
                m.forward(prompt, LATER_BATCH, logits);
                for (int pos = LATER_BATCH + BATCH; pos < context && !stop; pos++) m.forwardArgmax(new int[] {pos % VOCABULARY_ROWS}, pos, logits); // decode
                passes++;
                // Compiled methods come in as jumps in speed; a long run of passes as fast as the fastest means they are all in.
                long took = System.nanoTime() - t0;
                if (took < fastest) fastest = took;
                steady = took < 1.5 * fastest ? steady + 1 : 0;
                if (steady == STEADY_PASSES) break;
            }
            m.close();
        } catch (RuntimeException | OutOfMemoryError e) {
            // Only a head start: the real model's own kernels report any real problem.
        }
    }

    /** Stops warming up after the forward in progress, without waiting for it ({@link #awaitStopped}). */
    @Override
    public void close() {
        stop = true;
    }

    /** Waits until the thread has stopped. */
    void awaitStopped() throws InterruptedException {
        thread.join();
    }
}
