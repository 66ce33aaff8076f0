import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * Builds target/ternion-image at {@code mvn package}: a Java runtime made by jlink (the modules
 * the CLI uses, jdk.incubator.vector among them, and the launcher options baked in), the CLI jar,
 * the bundled model and two launchers, bin/ternion and bin/ternion.cmd. Unpacked anywhere, it
 * runs with no JDK installed. Run by Maven with the build's JDK 25 as a single-file program
 * ({@code java BuildImage.java TARGET JAR MODELS}), so the image's runtime is that JDK's.
 */
public class BuildImage {
    /**
     * What jdeps lists for the shaded jar, plus jdk.unsupported (libraries probe sun.misc.Unsafe), the
     * extra charsets and jdk.management (the machine's memory size, before paging a model file in).
     */
    static final String MODULES = "java.base,java.desktop,java.management,java.naming,java.net.http,java.sql,jdk.management,"
            + "jdk.incubator.vector,jdk.unsupported,jdk.charsets";
    /**
     * Baked into the runtime, so bin/java -jar app/ternion.jar needs no flags: the Vector API, native
     * access, and the JIT options of the ./ternion launcher (the kernels compile after a twentieth of
     * the usual counts, so C2 has them ready by the first forward).
     */
    static final String OPTIONS = "--add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
            + " -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,io.ternion.*::*,0.05";

    public static void main(String[] args) throws IOException {
        if (Runtime.version().feature() < 25) {
            throw new IllegalStateException("BuildImage runs on Java " + Runtime.version() + ": its jlink would make a runtime too old for"
                    + " Ternion; Maven must run it with the JDK 25 toolchain");
        }
        Path target = Path.of(args[0]), jar = Path.of(args[1]), models = Path.of(args[2]);
        Path image = target.resolve("ternion-image");
        delete(image);
        ToolProvider jlink = ToolProvider.findFirst("jlink").orElseThrow(() -> new IllegalStateException("this JDK has no jlink"));
        int code = jlink.run(new PrintWriter(System.out, true), new PrintWriter(System.err, true),
                "--add-modules", MODULES, "--add-options=" + OPTIONS, "--strip-debug", "--no-man-pages", "--no-header-files",
                "--compress=zip-6", "--output", image.toString());
        if (code != 0) throw new IllegalStateException("jlink failed with exit code " + code);
        Files.createDirectories(image.resolve("app"));
        Files.copy(jar, image.resolve("app/ternion.jar"), StandardCopyOption.REPLACE_EXISTING);
        Files.createDirectories(image.resolve("models"));
        try (Stream<Path> files = Files.list(models)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (f.toString().endsWith(".gguf")) Files.copy(f, image.resolve("models").resolve(f.getFileName()));
            }
        }
        Path sh = image.resolve("bin/ternion");
        Files.writeString(sh, """
                #!/usr/bin/env bash
                # Ternion with the Java runtime beside it: no JDK needed. TERNION_OPTS: extra JVM options.
                here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
                if [[ -t 2 ]]; then export TERNION_STDERR_TTY=1; else export TERNION_STDERR_TTY=0; fi
                # The JVM announces the incubating Vector API on stderr, as its first line, at every start; only that
                # line is dropped and the rest passed on as it comes (chat's "> " cue has no newline). Ctrl-C is Java's.
                drop_incubator_notice() {
                  trap '' INT
                  local first
                  if IFS= read -r first; then
                    [[ $first == 'WARNING: Using incubator modules'* ]] || printf '%s\\n' "$first"
                    exec cat
                  fi
                  printf '%s' "$first"
                }
                set +e +o pipefail
                { "$here/bin/java" -Dternion.home="$here" ${TERNION_OPTS:-} -jar "$here/app/ternion.jar" "$@" 2>&1 1>&3 3>&- \\
                    | drop_incubator_notice >&2; } 3>&1
                exit "${PIPESTATUS[0]}"
                """);
        try {
            Files.setPosixFilePermissions(sh, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException e) {
            // Windows: bin/ternion.cmd is the launcher there.
        }
        Files.writeString(image.resolve("bin/ternion.cmd"), """
                @echo off
                rem Ternion with the Java runtime beside it: no JDK needed.
                "%~dp0java.exe" -Dternion.home="%~dp0.." %TERNION_OPTS% -jar "%~dp0..\\app\\ternion.jar" %*
                """.replace("\n", "\r\n"));
        System.out.println("BuildImage: wrote " + image + " (run " + sh + ")");
    }

    private static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) Files.delete(p);
        }
    }
}
