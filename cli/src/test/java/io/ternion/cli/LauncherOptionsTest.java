package io.ternion.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The JIT options that have the kernels compiled before the first forward live in three places: the
 * repository's ./ternion, the packaged runtime (BuildImage bakes them in; PackagedImageIT checks the
 * built image) and the command the jar prints when run without flags. They must not drift apart.
 */
class LauncherOptionsTest {
    static final String THRESHOLDS = "-XX:CompileCommand=CompileThresholdScaling,io.ternion.*::*,0.05";

    @Test
    void everyLauncherCompilesTheKernelsEarlyAndQuietly() throws IOException {
        String script = Files.readString(Path.of("..", "ternion"));
        String image = Files.readString(Path.of("src", "package", "BuildImage.java"));
        String jar = Files.readString(Path.of("src", "main", "java", "io", "ternion", "cli", "Main.java"));
        for (String launcher : new String[] {script, image, jar}) {
            assertTrue(launcher.contains(THRESHOLDS), "the kernels' compile thresholds are lowered everywhere");
            // Without quiet the JVM prints each CompileCommand on stdout, into the generated text.
            assertTrue(launcher.contains("-XX:CompileCommand=quiet"), "CompileCommand stays off stdout");
        }
        assertTrue(script.contains("\"${JIT_OPTS[@]}\""), "./ternion passes its JIT options to java");
    }
}
