package io.ternion.harness;

import io.ternion.engine.Backends;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Which of the backends asked for can be created here. Creating one is cheap (a thread pool, a
 * device query), so an unknown name or a missing GPU is said at once, not after minutes of other
 * backends' runs; such a backend is skipped with its reason rather than failing the whole run.
 */
final class BackendCheck {
    private BackendCheck() {}

    record Availability(List<String> available, List<Skipped> skipped) {}

    static Availability check(List<String> names, int threads, int device, Consumer<String> progress) {
        List<String> ok = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        for (String name : names) {
            try {
                Backends.create(name, threads, device).close();
                ok.add(name);
            } catch (RuntimeException e) {
                skipped.add(new Skipped(name, String.valueOf(e.getMessage())));
                progress.accept("skipping backend " + name + ": " + e.getMessage());
            }
        }
        if (ok.isEmpty()) throw new IllegalArgumentException("no backend could run: " + describe(skipped));
        return new Availability(ok, skipped);
    }

    static String describe(List<Skipped> skipped) {
        return String.join("; ", skipped.stream().map(k -> k.backend() + ": " + k.reason()).toList());
    }
}
