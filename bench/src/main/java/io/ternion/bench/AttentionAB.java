package io.ternion.bench;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Attention steps of two builds (jars) in one JVM through separate class loaders, alternating short
 * rounds on one thread and keeping each build's fastest round by thread CPU time: on a loaded
 * shared machine both see the same interference, and the minimum is what the code costs.
 * Usage: {@code java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar io.ternion.bench.AttentionAB
 * heads kvHeads positions layers kvType before.jar after.jar} (jars with the kernels, e.g. two builds
 * of benchmarks.jar); {@code -Drounds=N} rounds of 200 ms per build (default 40), the first half
 * discarded as warm-up; {@code -Drows=R} steps a batch of R prompt rows at the last R positions
 * (one {@code attendRows} call, as prompt processing at depth makes) instead of one query.
 */
public final class AttentionAB {
    private AttentionAB() {}

    record Build(String name, Object cache, Object pool, MethodHandle attend, MethodHandle attendRows, long bytesPerStep) {}

    public static void main(String[] a) throws Throwable {
        if (a.length < 6) {
            System.err.println("usage: AttentionAB heads kvHeads positions layers kvType jar...");
            System.exit(2);
        }
        int heads = Integer.parseInt(a[0]), kvHeads = Integer.parseInt(a[1]), positions = Integer.parseInt(a[2]), layers = Integer.parseInt(a[3]);
        String typeName = a[4];
        int headDim = 128, kvDim = kvHeads * headDim;
        int nb = a.length - 5;
        Build[] builds = new Build[nb];
        for (int b = 0; b < nb; b++) {
            ClassLoader cl = new URLClassLoader(new URL[] {Path.of(a[5 + b]).toUri().toURL()}, AttentionAB.class.getClassLoader().getParent());
            Class<?> kvType = cl.loadClass("io.ternion.graph.KvType"), kvTypes = cl.loadClass("io.ternion.graph.KvTypes");
            Class<?> kvCache = cl.loadClass("io.ternion.kernels.cpu.KvCache"), pool = cl.loadClass("io.ternion.kernels.cpu.WorkerPool");
            Class<?> attention = cl.loadClass("io.ternion.kernels.cpu.Attention");
            Object type = kvType.getMethod("parse", String.class).invoke(null, typeName);
            Object types = kvTypes.getConstructor(kvType, kvType).newInstance(type, type);
            Object cache = kvCache.getConstructor(int.class, int.class, int.class, int.class, int.class, kvTypes).newInstance(layers, 1, positions, kvHeads, headDim, types);
            var store = kvCache.getMethod("store", int.class, int.class, int.class, float[].class, int.class, float[].class, int.class);
            SplittableRandom rnd = new SplittableRandom(3);
            float[] k = new float[kvDim], v = new float[kvDim];
            for (int l = 0; l < layers; l++) for (int p = 0; p < positions; p++) {
                for (int i = 0; i < kvDim; i++) { k[i] = (float) (rnd.nextDouble() * 2 - 1); v[i] = (float) (rnd.nextDouble() * 2 - 1); }
                store.invoke(cache, l, 0, p, k, 0, v, 0);
            }
            Object p = pool.getConstructor(int.class).newInstance(1);
            MethodHandle attend = MethodHandles.publicLookup().findStatic(attention, "attend", MethodType.methodType(void.class, kvCache, int.class,
                    float[].class, int.class, int.class, int.class, int.class, int.class, float[].class, int.class, float.class, pool));
            MethodHandle attendRows = MethodHandles.publicLookup().findStatic(attention, "attendRows", MethodType.methodType(void.class, kvCache,
                    int.class, float[].class, int.class, int.class, int[].class, int[].class, int.class, int.class, int.class, float[].class, int.class,
                    float.class, pool));
            long bytes = (long) kvCache.getMethod("bytes").invoke(cache) / layers;
            builds[b] = new Build(Path.of(a[5 + b]).getFileName().toString(), cache, p, attend, attendRows, bytes);
        }
        int rows = Integer.getInteger("rows", 1);
        int[] rowPositions = new int[rows], rowSlots = new int[rows];
        for (int r = 0; r < rows; r++) rowPositions[r] = positions - rows + r;
        float[] q = new float[rows * heads * headDim], out = new float[rows * heads * headDim];
        SplittableRandom rnd = new SplittableRandom(5);
        for (int i = 0; i < q.length; i++) q[i] = (float) (rnd.nextDouble() * 2 - 1);
        float scale = (float) (1 / Math.sqrt(headDim));
        var mx = ManagementFactory.getThreadMXBean();
        int rounds = Integer.getInteger("rounds", 40);
        double[][] ns = new double[nb][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int b = 0; b < nb; b++) {
                Build x = builds[b];
                long c0 = mx.getCurrentThreadCpuTime(); int s = 0;
                while (mx.getCurrentThreadCpuTime() - c0 < 200_000_000L) {
                    if (rows == 1) x.attend.invoke(x.cache, s % layers, q, 0, heads, kvHeads, headDim, positions, out, 0, scale, x.pool);
                    else x.attendRows.invoke(x.cache, s % layers, q, 0, rows, rowPositions, rowSlots, heads, kvHeads, headDim, out, 0, scale, x.pool);
                    s++;
                }
                ns[b][r] = (mx.getCurrentThreadCpuTime() - c0) / (double) s;
            }
        }
        for (int b = 0; b < nb; b++) {
            double[] late = Arrays.copyOfRange(ns[b], rounds / 2, rounds);
            Arrays.sort(late);
            System.out.printf("%-16s %-6s %d rows %d/%d heads pos %d: min %.0f us/step, median %.0f (cpu); %.2f GB/s of cache per cpu-second at the min%n",
                    builds[b].name, typeName, rows, heads, kvHeads, positions, late[0] / 1e3, late[late.length / 2] / 1e3, builds[b].bytesPerStep / late[0]);
        }
        System.exit(0);
    }
}
