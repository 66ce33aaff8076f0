package io.ternion.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The workload the build records for the JDK's ahead-of-time cache (JEPs 483 and 515): the
 * launchers start Ternion with {@code -XX:AOTCache}, so its classes come loaded and linked and the
 * JIT starts from this run's method profiles instead of gathering its own during the first forward.
 * It runs the CLI as a user would: synth writes a tiny model of each weight family (the kernels
 * are the same code at any size), then run, on one and two threads, reads a prompt and generates.
 * Measured (README, "Progress and the first token"): Bonsai-1.7B's first forward ~3× shorter in the
 * median, with a cache recorded on a different model, so what it carries is not model-specific.
 */
public final class AotTraining {
    private static final List<List<String>> MODELS = List.of(
            List.of("tiny-bitnet-b1.58", "i2_s"), List.of("tiny-bitnet", "tq2_0"), List.of("tiny-bitnet", "tq1_0"),
            List.of("tiny-qwen3", "q1_0"), List.of("tiny-ternary-bonsai", "q2_0"));

    private AotTraining() {}

    public static void main(String[] args) throws IOException {
        Path dir = Files.createTempDirectory("ternion-aot");
        PrintWriter quiet = new PrintWriter(OutputStream.nullOutputStream());
        try {
            int failures = 0;
            for (List<String> m : MODELS) {
                Path file = dir.resolve(m.get(0) + "-" + m.get(1) + ".gguf");
                failures += Main.run(quiet, quiet, "synth", "--preset", m.get(0), "--type", m.get(1), "-o", file.toString()) == 0 ? 0 : 1;
                for (String threads : List.of("1", "2")) {
                    failures += Main.run(quiet, quiet, "run", "-m", file.toString(), "-p", "Once upon a time, in a land far away,",
                            "-n", "24", "-t", threads, "--temp", "0.8", "--seed", "1", "--backend", "cpu") == 0 ? 0 : 1;
                }
            }
            if (failures > 0) {
                System.err.println("ternion: AOT training: " + failures + " runs failed");
                System.exit(1);
            }
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(p);
            }
        }
    }
}
