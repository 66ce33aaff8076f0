package io.ternion.harness;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.graph.KvType;
import io.ternion.graph.KvTypes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The peer runner against fake llama-benches: small shell scripts that print what llama-bench
 * prints ({@code -o json}: an array of test objects; the fields as llama.cpp's llama-bench.cpp names
 * them), or fail the way it fails.
 */
@DisabledOnOs(OS.WINDOWS)
class LlamaBenchPeerTest {
    @TempDir
    Path dir;

    /** One test object as llama-bench prints it (trimmed of the fields the runner does not read). */
    static String row(int prompt, int gen, int depth, int threads, double tps) {
        return """
                  {
                    "build_commit": "5e8f0b2",
                    "build_number": 6543,
                    "cpu_info": "AMD EPYC",
                    "gpu_info": "",
                    "backends": "CPU",
                    "model_filename": "m.gguf",
                    "model_type": "bitnet 2B I2_S - 2 bpw ternary",
                    "model_size": 1187801280,
                    "model_n_params": 2741198080,
                    "n_batch": 2048,
                    "n_ubatch": 512,
                    "n_threads": %d,
                    "type_k": "f16",
                    "n_prompt": %d,
                    "n_gen": %d,
                    "n_depth": %d,
                    "test_time": "2026-12-06T07:00:00Z",
                    "avg_ns": 1000000,
                    "stddev_ns": 0,
                    "avg_ts": %s,
                    "stddev_ts": 0.000000,
                    "samples_ns": [ 1000000 ],
                    "samples_ts": [ %s ]
                  }""".formatted(threads, prompt, gen, depth, tps, tps);
    }

    /** An executable script in {@code dir} with {@code body} after a bash shebang. */
    static Path script(Path dir, String name, String body) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/bash\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    @Test
    void readsTheRowOfTheTestAskedForAndPassesTheSameFlags() throws Exception {
        Path log = dir.resolve("args.log");
        Path fake = script(dir, "llama-bench", "echo \"$@\" >> " + log + "\necho 'main: loading' >&2\ncat <<'EOF'\n[\n"
                + row(128, 0, 0, 2, 45.5) + ",\n" + row(0, 128, 0, 2, 11.25) + "\n]\nEOF\n");
        LlamaBenchPeer peer = new LlamaBenchPeer(fake);
        LlamaBenchPeer.Run tg = peer.run(Path.of("m.gguf"), 2, 0, 128, 0);
        assertEquals(11.25, tg.tokensPerSecond());
        assertEquals("5e8f0b2 (6543)", tg.build());
        assertEquals("bitnet 2B I2_S - 2 bpw ternary", tg.modelType());
        assertEquals(45.5, peer.run(Path.of("m.gguf"), 2, 128, 0, 0).tokensPerSecond());
        assertEquals(List.of("-m m.gguf -p 0 -n 128 -t 2 -r 1 -o json", "-m m.gguf -p 128 -n 0 -t 2 -r 1 -o json"),
                Files.readAllLines(log), "one timed run, JSON, and no -d when the depth is 0 (forks before -d refuse it)");
    }

    @Test
    void aDepthIsPassedAsDAndMatched() throws Exception {
        Path log = dir.resolve("args.log");
        Path fake = script(dir, "llama-bench", "echo \"$@\" >> " + log + "\ncat <<'EOF'\n[\n" + row(0, 16, 4096, 1, 7.5) + "\n]\nEOF\n");
        LlamaBenchPeer peer = new LlamaBenchPeer(fake);
        assertEquals(7.5, peer.run(Path.of("m.gguf"), 1, 0, 16, 4096).tokensPerSecond());
        assertEquals(List.of("-m m.gguf -p 0 -n 16 -t 1 -r 1 -o json -d 4096"), Files.readAllLines(log));
        LlamaBenchPeer.Failure f = assertThrows(LlamaBenchPeer.Failure.class, () -> peer.run(Path.of("m.gguf"), 1, 0, 16, 0));
        assertEquals("reported no test with n_prompt 0, n_gen 16, n_depth 0", f.getMessage());
    }

    /**
     * A non-F16 cache is passed as -ctk/-ctv, with -fa 1 when V is quantized (llama.cpp stores a
     * quantized V only with flash attention); F16, llama-bench's default, passes neither.
     */
    @Test
    void kvCacheTypesArePassedAsCtkCtv() throws Exception {
        Path fake = script(dir, "llama-bench", "true\n");
        LlamaBenchPeer peer = new LlamaBenchPeer(fake);
        String head = fake + " -m m.gguf -p 0 -n 16 -t 1 -r 1 -o json";
        assertEquals(head, String.join(" ", peer.command(Path.of("m.gguf"), 1, 0, 16, 0, KvTypes.F16)));
        assertEquals(head + " -ctk q8_0 -ctv q8_0 -fa 1",
                String.join(" ", peer.command(Path.of("m.gguf"), 1, 0, 16, 0, new KvTypes(KvType.Q8_0, KvType.Q8_0))));
        assertEquals(head + " -d 512 -ctk q4_0 -ctv f16",
                String.join(" ", peer.command(Path.of("m.gguf"), 1, 0, 16, 512, new KvTypes(KvType.Q4_0, KvType.F16))));
    }

    @Test
    void anOldLlamaBenchWithoutDepthOrSamplesStillReads() throws Exception {
        String old = "[{\"build_commit\": \"abc\", \"n_threads\": 1, \"n_prompt\": 0, \"n_gen\": 8, \"avg_ts\": 3.5}]";
        LlamaBenchPeer.Run r = LlamaBenchPeer.parse(old, "", 1, 0, 8, 0);
        assertEquals(3.5, r.tokensPerSecond());
        assertEquals("abc", r.build());
        assertNull(r.modelType());
    }

    @Test
    void aRefusalIsReportedInThePeersOwnWords() throws Exception {
        Path old = script(dir, "old-bench", "echo 'llama_model_load: error loading model: unknown type 36' >&2\n"
                + "echo 'main: error: failed to load model m.gguf' >&2\nexit 1\n");
        LlamaBenchPeer.Failure f = assertThrows(LlamaBenchPeer.Failure.class, () -> new LlamaBenchPeer(old).run(Path.of("m.gguf"), 1, 8, 0, 0));
        assertEquals("exit 1: llama_model_load: error loading model: unknown type 36 / main: error: failed to load model m.gguf", f.getMessage());

        // Newer llama-bench prints the empty array, the error on stderr, and exits 1 at the end.
        Path newer = script(dir, "new-bench", "echo '['\necho 'llama_bench: error: failed to load model' >&2\necho ']'\nexit 1\n");
        f = assertThrows(LlamaBenchPeer.Failure.class, () -> new LlamaBenchPeer(newer).run(Path.of("m.gguf"), 1, 8, 0, 0));
        assertEquals("exit 1: llama_bench: error: failed to load model", f.getMessage());

        Path silent = script(dir, "silent", "echo '[' ; echo ']'\n");
        f = assertThrows(LlamaBenchPeer.Failure.class, () -> new LlamaBenchPeer(silent).run(Path.of("m.gguf"), 1, 8, 0, 0));
        assertEquals("measured nothing: [ / ]", f.getMessage());

        Path notBench = script(dir, "not-bench", "echo 'usage: something else'\n");
        f = assertThrows(LlamaBenchPeer.Failure.class, () -> new LlamaBenchPeer(notBench).run(Path.of("m.gguf"), 1, 8, 0, 0));
        assertEquals("printed no llama-bench JSON: usage: something else", f.getMessage());
    }

    @Test
    void theMessageKeepsErrorLinesElseTheLastOnes() {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 10; i++) many.add("line " + i);
        assertEquals("line 7 / line 8 / line 9", LlamaBenchPeer.message(String.join("\n", many), ""));
        assertEquals("GGML_ASSERT failed: x", LlamaBenchPeer.message("load\nGGML_ASSERT failed: x\nbye\n", ""));
        assertEquals("from stdout", LlamaBenchPeer.message("  \n", "from stdout\n"));
        assertEquals("(it printed nothing)", LlamaBenchPeer.message("", ""));
    }

    @Test
    void aMissingOrNonExecutableBinaryFailsBeforeAnyRun() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LlamaBenchPeer(dir.resolve("nope")));
        assertEquals("--peer " + dir.resolve("nope") + ": no such file", e.getMessage());
        Path plain = Files.writeString(dir.resolve("plain"), "not a program");
        e = assertThrows(IllegalArgumentException.class, () -> new LlamaBenchPeer(plain));
        assertEquals("--peer " + plain + ": not executable", e.getMessage());
    }

    /** The alternation: after the warm-up, each timed run follows the peers' run of the same repetition and a probe. */
    @Test
    void eachTimedRunFollowsThePeersRunAndAProbe() {
        List<String> events = new ArrayList<>();
        BenchRunner.Runs runs = BenchRunner.repeat(3, () -> events.add("ternion"), 10, () -> {
            events.add("probe");
            return 1e10;
        }, i -> events.add("peer " + i));
        int firstPeer = events.indexOf("peer 0");
        assertTrue(firstPeer >= 1, "a warm-up comes first: " + events);
        assertTrue(events.subList(0, firstPeer).stream().allMatch("ternion"::equals), events.toString());
        assertEquals(List.of("peer 0", "probe", "ternion", "peer 1", "probe", "ternion", "peer 2", "probe", "ternion"),
                events.subList(firstPeer, events.size()));
        assertEquals(3, runs.tokensPerSecond().size());
    }
}
