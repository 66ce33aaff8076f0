package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.cli.InfoCommandTest.Result;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One flipped bit at a time in each tiny peer model (a fixed seed, so a failure repeats): every run
 * ends with exit 0 (the flip changed only the text) or 2 (one error line), within seconds and without
 * a stack trace. A JVM crash would end the whole test run.
 */
class BitFlipSweepTest {
    /** Flips per model: half among the first 64 KiB (header, metadata, tensor infos), half anywhere (mostly weights). */
    static final int FLIPS = 200;

    @TempDir
    Path dir;

    static Stream<String> models() {
        return Stream.of("public-bitnet-tq1_0", "public-bitnet-tq2_0", "public-bitnet158-i2_s", "public-llama-tq2_0", "public-qwen3-q1_0",
                "public-bitnet158-f16");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void everyFlipEndsCleanly(String model) throws IOException {
        byte[] original = Files.readAllBytes(TestData.require("peer-cases/models/" + model + ".gguf"));
        SplittableRandom rnd = new SplittableRandom(model.hashCode());
        Path f = dir.resolve(model + "-flipped.gguf");
        int failures = 0, errors = 0;
        for (int i = 0; i < FLIPS; i++) {
            byte[] b = original.clone();
            int at = rnd.nextInt(i % 2 == 0 ? Math.min(b.length, 1 << 16) : b.length), bit = rnd.nextInt(8);
            b[at] ^= (byte) (1 << bit);
            Files.write(f, b);
            String what = model + " with bit " + bit + " of byte " + at + " flipped";
            Result r = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> ternion("run", "-m", f.toString(), "-p", "Hello", "-n", "4",
                    "--temp", "0", "-t", "1", "-c", "64"), what);
            assertTrue(r.code() == 0 || r.code() == 2, () -> what + ": exit " + r.code() + "\n" + r.err());
            assertFalse(r.err().contains("\tat "), () -> what + ": a stack trace\n" + r.err());
            if (r.code() == 2) {
                errors++;
                assertTrue(r.err().strip().lines().reduce((x, y) -> y).orElse("").startsWith("ternion: error: "), () -> what + ": " + r.err());
            }
        }
        assertTrue(errors > 0, model + ": no flip was caught, so the sweep did not reach the header");
    }
}
