package io.ternion.bench;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.kernels.cpu.MatMul;
import io.ternion.kernels.cpu.Weights;
import io.ternion.kernels.cpu.WorkerPool;
import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Prompt-path matmul (a batch of vectors) for every weight type at the BitNet 2B4T shapes: each
 * tile of weight rows is decoded once and multiplied with every vector. Counters, per second:
 * {@code flops} (2·K·N·batch per call) and {@code weightBytes} (the matrix, read once per call; far
 * below the probe, as this path is compute-bound, which {@link KernelReport}'s fraction shows).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MatMulBatchBenchmark {
    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "I2_S", "TQ2_0", "TQ1_0", "Q1_0", "Q2_0", "Q2_0_128"})
    String type;

    @Param({"2560x2560", "2560x6912", "6912x2560", "2560x128256"})
    String shape;

    @Param({"64"})
    int batch;

    @Param({"1", "2"})
    int threads;

    private Arena arena;
    private Weights w;
    private WorkerPool pool;
    private int k, n;
    private float[] x, y;

    @Setup(Level.Trial)
    public void setUp() {
        int[] kn = BenchWeights.shape(shape);
        k = kn[0];
        n = kn[1];
        arena = Arena.ofShared();
        pool = new WorkerPool(threads);
        // Prepared once, as a backend does at load (the ternary and binary formats are repacked).
        w = MatMul.prepare(BenchWeights.copies(arena, GgmlType.parse(type), k, n, 42)[0], pool);
        x = BenchWeights.activations(batch * k, 7);
        y = new float[batch * n];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        public long flops;
        public long weightBytes;
    }

    @Benchmark
    public float[] matmul(Work work) {
        MatMul.matmul(w, x, 0, batch, y, 0, pool);
        work.flops += 2L * k * n * batch;
        work.weightBytes += BenchWeights.streamedBytes(w);
        return y;
    }
}
