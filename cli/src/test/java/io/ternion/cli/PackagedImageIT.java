package io.ternion.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime image {@code mvn package} builds (target/ternion-image), run as a user without a
 * JDK would: PATH holds only the shell tools the launcher uses, JAVA_HOME is unset. It generates
 * the bundled model's story, and its own java runs the jar with no flags (they are baked in).
 */
class PackagedImageIT {
    static final Path IMAGE = Path.of("target", "ternion-image").toAbsolutePath();

    @TempDir
    Path tools;

    /** A PATH of links to bash, dirname and cat only: no java anywhere on it. */
    private Map<String, String> withoutJdk() throws IOException {
        for (String t : List.of("bash", "dirname", "cat", "env")) {
            Path real = Path.of("/usr/bin", t);
            if (!Files.exists(real)) real = Path.of("/bin", t);
            Files.createSymbolicLink(tools.resolve(t), real);
        }
        return Map.of("PATH", tools.toString());
    }

    private record Run(int code, String out, String err) {}

    private Run run(Map<String, String> env, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        pb.directory(tools.toFile());
        Path out = tools.resolve("out.txt"), err = tools.resolve("err.txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the image's run ended within two minutes");
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void theImageRunsWithNoJdkOnThePath() throws Exception {
        assertTrue(Files.isExecutable(IMAGE.resolve("bin/ternion")), "mvn package wrote " + IMAGE);
        assertTrue(Files.isRegularFile(IMAGE.resolve("bin/ternion.cmd")), "and the Windows launcher");
        Map<String, String> env = withoutJdk();
        Run r = run(env, IMAGE.resolve("bin/ternion").toString(), "run", "-p", "Once upon a time", "-n", "12", "--temp", "0", "--backend", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time"), r.out());
        assertTrue(r.out().length() > "Once upon a time".length() + 10, "it generated: " + r.out());
        assertFalse(r.err().contains("WARNING: Using incubator modules"), "the launcher drops the JVM's incubator notice: " + r.err());

        Run version = run(env, IMAGE.resolve("bin/java").toString(), "-jar", IMAGE.resolve("app/ternion.jar").toString(), "--version");
        assertEquals(0, version.code(), version.err());
        assertTrue(version.out().startsWith("ternion "), version.out());

        // The runtime carries the launcher's JIT options (the kernels compiled before the first forward).
        Run flags = run(env, IMAGE.resolve("bin/java").toString(), "-XX:+PrintCommandLineFlags", "-version");
        assertTrue(flags.out().contains("-XX:CompileCommand=CompileThresholdScaling,io.ternion.*::*,0.05"), flags.out() + flags.err());

        Run bad = run(env, IMAGE.resolve("bin/ternion").toString(), "run", "-m", "/no/such.gguf");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("ternion: error: no such file: /no/such.gguf"), bad.err());
    }
}
