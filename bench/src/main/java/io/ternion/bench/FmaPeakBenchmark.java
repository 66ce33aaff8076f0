package io.ternion.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Vector fused multiply-adds one thread issues per second, in eight independent chains (enough to
 * cover an FMA's latency on two pipes), at the widest float species: the arithmetic floor under
 * attention, whose float path costs one such FMA per 16 (at 512 bits) multiply-adds of a query
 * with a key or a value. The score is FMA instructions per second, not multiply-adds.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class FmaPeakBenchmark {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int STEPS = 4096, CHAINS = 8;

    private float m = 0.999f, c = 1e-7f;

    @Benchmark
    @OperationsPerInvocation(STEPS * CHAINS)
    public float fma() {
        FloatVector mv = FloatVector.broadcast(F, m), cv = FloatVector.broadcast(F, c);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int i = 0; i < STEPS; i++) {
            a0 = mv.fma(a0, cv);
            a1 = mv.fma(a1, cv);
            a2 = mv.fma(a2, cv);
            a3 = mv.fma(a3, cv);
            a4 = mv.fma(a4, cv);
            a5 = mv.fma(a5, cv);
            a6 = mv.fma(a6, cv);
            a7 = mv.fma(a7, cv);
        }
        return a0.add(a1).add(a2.add(a3)).add(a4.add(a5).add(a6.add(a7))).reduceLanes(VectorOperators.ADD);
    }
}
