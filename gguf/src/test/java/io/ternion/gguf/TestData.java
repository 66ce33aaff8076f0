package io.ternion.gguf;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds the shared third-party test data ({@code ../shared/testdata} beside the checkout, or
 * {@code $TERNION_TESTDATA}). Under {@code CI=true} a missing file fails the test; elsewhere the
 * test is skipped with a message saying what is missing.
 */
public final class TestData {
    private TestData() {}

    /** The repository root: the nearest directory upwards holding the parent pom and {@code models/}. */
    public static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !(Files.exists(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("models")))) p = p.getParent();
        if (p == null) throw new IllegalStateException("cannot find the Ternion checkout above " + Path.of("").toAbsolutePath());
        return p;
    }

    public static Path dir() {
        String env = System.getenv("TERNION_TESTDATA");
        return env != null ? Path.of(env) : repoRoot().resolveSibling("shared").resolve("testdata");
    }

    /** A file under the test data folder; fails under CI, skips elsewhere, when it is absent. */
    public static Path require(String relative) {
        Path f = dir().resolve(relative);
        if (!Files.exists(f)) {
            String msg = "test data " + f + " is missing (expected ../shared/testdata beside the checkout, or $TERNION_TESTDATA)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) Assertions.fail(msg);
            Assumptions.abort(msg);
        }
        return f;
    }

    /** The model bundled in the repository. */
    public static Path bundledModel() {
        return repoRoot().resolve("models/stories260K.gguf");
    }
}
