package io.ternion.bench;

import io.ternion.kernels.cpu.Ops;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The softmax over one head's attention scores at 4096 and 16384 positions, one thread: each
 * invocation copies fresh scores (spread as real ones, a few units either side) and normalizes
 * them. The {@code elements} counter is scores per second; the copy, an arraycopy in cache, is a
 * small part of it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class SoftmaxBenchmark {
    @Param({"4096", "16384"})
    int positions;

    private float[] scores, x;

    @Setup
    public void setUp() {
        scores = BenchWeights.activations(positions, 11);
        for (int i = 0; i < positions; i++) scores[i] *= 3;
        x = new float[positions];
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counted {
        public long elements;
    }

    @Benchmark
    public float[] softmax(Counted counted) {
        System.arraycopy(scores, 0, x, 0, positions);
        Ops.softmax(x, 0, positions);
        counted.elements += positions;
        return x;
    }
}
