package io.ternion.bench;

import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import io.ternion.kernels.cpu.Attention;
import io.ternion.kernels.cpu.KvCache;
import io.ternion.kernels.cpu.WorkerPool;
import java.util.SplittableRandom;
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
 * Decode attention at the BitNet 2B4T shape (20 query heads sharing 5 KV heads of 128) over a KV
 * cache of {@code positions} of type {@code kv} (keys and values alike), as the cpu backend runs it.
 * Each call reads the next of {@code layers()} layers, as a decode step does, so the cache (315 MB
 * of F16 at 4096 positions) streams from memory. The {@code kvBytes} counter is the K and V bytes
 * read, per second: compare it with {@link BandwidthProbe}'s. Attention before flash-decoding:
 * {@code -jvmArgsAppend -Dternion.attention.split=false}. {@code -p rows=64} scores a prompt's batch
 * of 64 rows at the last 64 positions instead of one decoded token (attention's prompt path, whose
 * rows share each decoded block of the cache); the counter then still counts the cache once a call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class AttentionBenchmark {
    static final int HEADS = 20, KV_HEADS = 5, HEAD_DIM = 128, KV_DIM = KV_HEADS * HEAD_DIM;

    @Param({"512", "4096", "16384"})
    int positions;

    @Param({"f16", "q8_0", "q4_0", "turbo4", "turbo3"})
    String kv;

    /** 30 layers (BitNet's) up to 4096 positions, fewer beyond: still far more than the last-level cache, in less heap. */
    int layers() {
        return Math.clamp(30L * 4096 / positions, 4, 30);
    }

    @Param({"1", "2"})
    int threads;

    /** Query rows a call: 1 is a decode step, more a prompt's batch. */
    @Param({"1"})
    int rows;

    private KvCache cache;
    private WorkerPool pool;
    private float[] q, out;
    private int[] rowPositions, rowSlots;
    private int layer;

    @Setup(Level.Trial)
    public void setUp() {
        KvType type = KvType.parse(kv);
        cache = new KvCache(layers(), 1, positions, KV_HEADS, HEAD_DIM, new KvTypes(type, type));
        SplittableRandom rnd = new SplittableRandom(3);
        float[] k = new float[KV_DIM], v = new float[KV_DIM];
        for (int l = 0; l < layers(); l++) {
            for (int p = 0; p < positions; p++) {
                for (int i = 0; i < KV_DIM; i++) {
                    k[i] = (float) (rnd.nextDouble() * 2 - 1);
                    v[i] = (float) (rnd.nextDouble() * 2 - 1);
                }
                cache.store(l, 0, p, k, 0, v, 0);
            }
        }
        pool = new WorkerPool(threads);
        q = BenchWeights.activations(rows * HEADS * HEAD_DIM, 7);
        out = new float[rows * HEADS * HEAD_DIM];
        rowPositions = new int[rows];
        rowSlots = new int[rows];
        for (int r = 0; r < rows; r++) rowPositions[r] = positions - rows + r;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Read {
        public long kvBytes;
    }

    @Benchmark
    public float[] attend(Read read) {
        float scale = (float) (1 / Math.sqrt(HEAD_DIM));
        if (rows == 1) Attention.attend(cache, layer, q, 0, HEADS, KV_HEADS, HEAD_DIM, positions, out, 0, scale, pool);
        else Attention.attendRows(cache, layer, q, 0, rows, rowPositions, rowSlots, HEADS, KV_HEADS, HEAD_DIM, out, 0, scale, pool);
        layer = layer + 1 == cache.layers() ? 0 : layer + 1;
        read.kvBytes += cache.bytes() / cache.layers() / cache.contextLength() * positions;
        return out;
    }
}
