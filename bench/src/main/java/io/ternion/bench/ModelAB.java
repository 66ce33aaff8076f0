package io.ternion.bench;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * End-to-end prompt and decode speed of several builds (CLI jars) in one JVM, each through its own
 * class loader with its own copy of the model, alternating rounds: on our shared VMs one JVM run
 * differs from the next by 10–40% (the same build's tg128 read 43 to 59 tok/s on Ternary
 * Bonsai-1.7B across five JVMs), so alternating JVMs cannot resolve a few percent; within one JVM
 * the builds see the same pages, cores and neighbours. The library API is reached by reflection
 * ({@code Model.load}, {@code Session.generate}), so the jars may be any two builds that have it.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp
 * bench/target/benchmarks.jar io.ternion.bench.ModelAB model.gguf a.jar b.jar ...}. Properties:
 * {@code -Drounds=N} (default 8; the first quarter is warm-up), {@code -Dprompt=P} prompt tokens
 * per round (default 16), {@code -Dtokens=N} generated tokens (default 64), {@code -Dthreads=T}
 * (default: every processor), {@code -Dctx=C} (default P + N + 16), {@code -Dkv=TYPE} (the KV cache
 * type of K and V, as -ctk and -ctv; default f16). Each round starts a fresh session,
 * so decode runs at depths P to P + N. Prints each round, then each build's median prompt and
 * decode tokens/s and the ratio of each build's medians to the first's.
 */
public final class ModelAB {
    private ModelAB() {}

    /** A loaded model of one build and the reflective handles to run it. */
    record Build(String name, Object model, Object tokens, Method newSession, Method generate, Object greedy, Class<?> listener) {}

    public static void main(String[] a) throws Throwable {
        if (a.length < 2) {
            System.err.println("usage: ModelAB model.gguf a.jar [b.jar ...]");
            System.exit(2);
        }
        int rounds = Integer.getInteger("rounds", 8), promptTokens = Integer.getInteger("prompt", 16);
        int tokens = Integer.getInteger("tokens", 64), threads = Integer.getInteger("threads", 0);
        int context = Integer.getInteger("ctx", promptTokens + tokens + 16);
        Build[] builds = new Build[a.length - 1];
        for (int b = 0; b < builds.length; b++) builds[b] = load(Path.of(a[b + 1]), Path.of(a[0]), threads, context, promptTokens);
        double[][] pp = new double[builds.length][rounds], tg = new double[builds.length][rounds];
        for (int r = 0; r < rounds; r++) {
            StringBuilder line = new StringBuilder("round " + r + ":");
            for (int i = 0; i < builds.length; i++) {
                int b = r % 2 == 0 ? i : builds.length - 1 - i; // both orders
                double[] speeds = round(builds[b], tokens);
                pp[b][r] = speeds[0];
                tg[b][r] = speeds[1];
            }
            for (int b = 0; b < builds.length; b++) line.append(String.format(" %s pp %.1f tg %.1f |", builds[b].name, pp[b][r], tg[b][r]));
            System.out.println(line);
        }
        double pp0 = median(pp[0], rounds), tg0 = median(tg[0], rounds);
        for (int b = 0; b < builds.length; b++) {
            double p = median(pp[b], rounds), t = median(tg[b], rounds);
            System.out.printf("%-24s prompt %d: %.1f tok/s (%.3f×), decode %d: %.1f tok/s (%.3f×)%n", builds[b].name, promptTokens, p, p / pp0,
                    tokens, t, t / tg0);
        }
        System.exit(0);
    }

    private static Build load(Path jar, Path modelFile, int threads, int context, int promptTokens) throws Throwable {
        ClassLoader cl = new URLClassLoader(new URL[] {jar.toUri().toURL()}, ModelAB.class.getClassLoader().getParent());
        Class<?> modelClass = cl.loadClass("io.ternion.engine.Model"), options = cl.loadClass("io.ternion.engine.Model$Options");
        Class<?> session = cl.loadClass("io.ternion.engine.Session"), params = cl.loadClass("io.ternion.engine.SamplerParams");
        Class<?> listener = cl.loadClass("io.ternion.engine.Session$TokenListener");
        Object opts = options.getConstructor(String.class, int.class, int.class, int.class).newInstance("cpu", threads, context, 512);
        String kv = System.getProperty("kv");
        if (kv != null) {
            Class<?> kvType = cl.loadClass("io.ternion.graph.KvType"), kvTypes = cl.loadClass("io.ternion.graph.KvTypes");
            Object type = kvType.getMethod("parse", String.class).invoke(null, kv);
            opts = options.getMethod("withKvTypes", kvTypes).invoke(opts, kvTypes.getConstructor(kvType, kvType).newInstance(type, type));
        }
        Object model = modelClass.getMethod("load", Path.class, options).invoke(null, modelFile, opts);
        Object tokenizer = modelClass.getMethod("tokenizer").invoke(model);
        Method encode = tokenizer.getClass().getMethod("encode", String.class);
        StringBuilder text = new StringBuilder();
        int[] prompt;
        do {
            text.append("Once upon a time there was a little dog who liked to run in the park with his friends. ");
            prompt = (int[]) encode.invoke(tokenizer, text.toString());
        } while (prompt.length < promptTokens);
        prompt = Arrays.copyOf(prompt, Math.max(1, promptTokens));
        Method generate = session.getMethod("generate", int[].class, int.class, params, listener);
        return new Build(jar.getFileName().toString(), model, prompt, modelClass.getMethod("newSession"), generate,
                params.getField("GREEDY").get(null), listener);
    }

    /** One fresh session's prompt and generation: {prompt tokens/s, decode tokens/s}. */
    private static double[] round(Build b, int tokens) throws Throwable {
        long start = System.nanoTime();
        long[] times = new long[tokens + 1];
        int[] count = {0};
        Object onToken = Proxy.newProxyInstance(b.listener.getClassLoader(), new Class<?>[] {b.listener}, (proxy, method, args) -> {
            switch (method.getName()) {
                case "equals" -> { return proxy == args[0]; }
                case "hashCode" -> { return System.identityHashCode(proxy); }
                case "toString" -> { return "ModelAB listener"; }
                default -> { }
            }
            if (count[0] < times.length) times[count[0]] = System.nanoTime();
            count[0]++;
            return true;
        });
        Object s = b.newSession.invoke(b.model);
        b.generate.invoke(s, b.tokens, tokens, b.greedy, onToken);
        int n = Math.min(count[0], times.length);
        int promptLength = ((int[]) b.tokens).length;
        // The first token comes out of the prompt's pass; the rest are decode steps.
        double pp = promptLength / ((times[0] - start) / 1e9);
        double tg = n > 1 ? (n - 1) / ((times[n - 1] - times[0]) / 1e9) : Double.NaN;
        return new double[] {pp, tg};
    }

    /** The median of the rounds after the first quarter. */
    private static double median(double[] x, int rounds) {
        double[] late = Arrays.copyOfRange(x, rounds / 4, rounds);
        Arrays.sort(late);
        return late[late.length / 2];
    }
}
