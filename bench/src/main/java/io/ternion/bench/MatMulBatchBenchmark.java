package io.ternion.bench;

import io.ternion.gguf.GgmlType;
import io.ternion.gguf.Tensor;
import io.ternion.kernels.cpu.MatMul;
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
 * Prompt-path matmul (a batch of vectors) at the BitNet 2B4T FFN shape: each tile of weight rows is
 * decoded once and multiplied with every vector. The {@code flops} counter is 2·K·N·batch per call,
 * reported per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MatMulBatchBenchmark {
    static final int K = MatVecBenchmark.K, N = MatVecBenchmark.N;

    @Param({"F16", "Q8_0"})
    String type;

    @Param({"64"})
    int batch;

    @Param({"1", "2"})
    int threads;

    private Arena arena;
    private Tensor w;
    private WorkerPool pool;
    private float[] x, y;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        w = BenchWeights.copies(arena, GgmlType.parse(type), K, N, 42)[0];
        pool = new WorkerPool(threads);
        x = BenchWeights.activations(batch * K, 7);
        y = new float[batch * N];
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
    }

    @Benchmark
    public float[] matmul(Work work) {
        MatMul.matmul(w, x, 0, batch, y, 0, pool);
        work.flops += 2L * K * N * batch;
        return y;
    }
}
