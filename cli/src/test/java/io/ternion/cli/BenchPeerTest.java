package io.ternion.cli;

import static io.ternion.cli.BenchCommandTest.assertError;
import static io.ternion.cli.BenchCommandTest.assertFields;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ternion.cli.InfoCommandTest.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ternion bench --peer} and {@code -d} against fake llama-benches: shell scripts written here
 * that log their arguments and print llama-bench's JSON (one test object, the fields llama.cpp's
 * llama-bench.cpp prints), or fail as llama-bench does when it cannot load a file.
 */
@DisabledOnOs(OS.WINDOWS)
class BenchPeerTest {
    @TempDir
    static Path dir;
    static Path model;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void tinyModel() throws IOException {
        model = BenchCommandTest.tinyModel(dir);
    }

    /**
     * A fake llama-bench in its own folder: it appends its arguments to {@code args.log} beside it and
     * reports the test it was asked for; the k-th call reports {@code step × k} tok/s ({@code step} 0: always 100).
     */
    static Path fakePeer(String name, int step) throws IOException {
        Path folder = Files.createDirectories(dir.resolve(name));
        Path log = folder.resolve("args.log");
        String tps = step == 0 ? "100" : "$(( $(wc -l < " + log + ") * " + step + " ))";
        return executable(folder.resolve("llama-bench"), """
                echo "$@" >> %s
                p=0; g=0; d=0; t=0
                while [ $# -gt 0 ]; do
                  case "$1" in -p) p=$2; shift;; -n) g=$2; shift;; -t) t=$2; shift;; -d) d=$2; shift;; esac
                  shift
                done
                tps=%s
                cat <<EOF
                [
                  {
                    "build_commit": "fake123",
                    "build_number": 7,
                    "model_type": "fake 1M ternary",
                    "n_threads": $t,
                    "n_prompt": $p,
                    "n_gen": $g,
                    "n_depth": $d,
                    "avg_ts": $tps.000000,
                    "stddev_ts": 0.000000,
                    "samples_ts": [ $tps ]
                  }
                ]
                EOF
                """.formatted(log, tps));
    }

    /** A llama-bench that cannot load the file, as an old one says so. */
    static Path refusingPeer() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("refusing"));
        return executable(folder.resolve("llama-bench"), "echo \"$@\" >> " + folder.resolve("args.log") + "\n"
                + "echo 'llama_model_loader: loaded meta data' >&2\n"
                + "echo \"main: error: failed to load model '$2'\" >&2\nexit 1\n");
    }

    static Path executable(Path p, String body) throws IOException {
        Files.writeString(p, "#!/bin/bash\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    static List<String> calls(Path peer) throws IOException {
        return Files.readAllLines(peer.resolveSibling("args.log"));
    }

    static Result bench(String... more) {
        return BenchCommandTest.benchOn(model, more);
    }

    static List<Double> doubles(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asDouble).toList();
    }

    static double median(List<Double> xs) {
        List<Double> s = xs.stream().sorted().toList();
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    @Test
    void thePeerRunsOnceBeforeEachTimedRunOfTheSameTest() throws IOException {
        Path peer = fakePeer("counting", 100);
        Result r = bench("--peer", peer.toString(), "--format", "json");
        assertEquals(0, r.code(), r.err());
        String same = "-m " + model + " ";
        assertEquals(List.of(same + "-p 8 -n 0 -t 1 -r 1 -o json", same + "-p 8 -n 0 -t 1 -r 1 -o json",
                same + "-p 0 -n 4 -t 1 -r 1 -o json", same + "-p 0 -n 4 -t 1 -r 1 -o json"), calls(peer),
                "one run per repetition, each test alone, the same file, threads and sizes");

        JsonNode j = JSON.readTree(r.out());
        assertFields(j.get("peers").get(0), "binary", "build", "model_type", "error");
        assertEquals(peer.toString(), j.at("/peers/0/binary").asText());
        assertEquals("fake123 (7)", j.at("/peers/0/build").asText());
        assertEquals("fake 1M ternary", j.at("/peers/0/model_type").asText());
        assertTrue(j.at("/peers/0/error").isNull());

        JsonNode pp = j.at("/results/0"), tg = j.at("/results/1");
        assertFields(pp.get("peers").get(0), "binary", "tokens_per_second_mean", "tokens_per_second_stddev", "tokens_per_second_samples",
                "ratio", "error");
        assertEquals(List.of(100.0, 200.0), doubles(pp.at("/peers/0/tokens_per_second_samples")), "the first two calls were pp's");
        assertEquals(List.of(300.0, 400.0), doubles(tg.at("/peers/0/tokens_per_second_samples")));
        assertEquals(150.0, pp.at("/peers/0/tokens_per_second_mean").asDouble());
        assertEquals(70.71, pp.at("/peers/0/tokens_per_second_stddev").asDouble(), 0.01);
        assertEquals(median(doubles(pp.get("tokens_per_second_samples"))) / 150, pp.at("/peers/0/ratio").asDouble(), 1e-9,
                "Ternion's median ÷ the peer's");
        assertEquals(median(doubles(tg.get("tokens_per_second_samples"))) / 350, tg.at("/peers/0/ratio").asDouble(), 1e-9);
        assertTrue(r.err().matches("(?s).*cpu, 1 thread, tg4: .*; " + peer + ": 350\\.00 ± 70\\.71 tok/s, Ternion [0-9.]+×\n.*"), r.err());
    }

    @Test
    void csvHasColumnsPerPeer() throws IOException {
        Path peer = fakePeer("steady", 0);
        Result csv = bench("--peer", peer.toString(), "--format", "csv");
        assertEquals(0, csv.code(), csv.err());
        String[] lines = csv.out().split("\n");
        assertTrue(lines[0].endsWith(",sequences,depth,peer1,peer1_tokens_per_second_mean,peer1_tokens_per_second_stddev,peer1_ratio,peer1_error"),
                lines[0]);
        assertTrue(lines[2].matches(".*,1,tg4,4,.*,0," + peer + ",100\\.0,0\\.0,[0-9.E-]+,"), lines[2]);
    }

    @Test
    void aPeerThatRefusesTheFileIsReportedWithItsMessage() throws IOException {
        Path refusing = refusingPeer(), good = fakePeer("good", 0);
        Result r = bench("--peer", good.toString(), "--peer", refusing.toString());
        assertEquals(0, r.code(), "Ternion measured; the peer's refusal is part of the report: " + r.err());
        String message = "exit 1: main: error: failed to load model '" + model + "'";
        assertTrue(r.out().contains("- peer 2: " + refusing + ", refused the run: " + message + "\n"), r.out());
        assertTrue(r.out().contains("| peer 1 t/s | ratio 1 | peer 2 t/s | ratio 2 |"), r.out());
        assertTrue(r.out().matches("(?s).*\\| pp8 \\| [0-9.]+ ± [0-9.]+ \\|  \\| 100\\.00 ± 0\\.00 \\| [0-9.]+× \\|  \\|  \\|.*"), r.out());
        assertTrue(r.err().contains("peer " + refusing + " refused the run: " + message), r.err());
        assertEquals(1, calls(refusing).size(), "a peer that refused the file is not asked again");

        Result j = bench("--peer", refusing.toString(), "--format", "json");
        JsonNode report = JSON.readTree(j.out());
        assertEquals(message, report.at("/peers/0/error").asText());
        assertTrue(report.at("/peers/0/build").isNull());
        assertEquals(message, report.at("/results/0/peers/0/error").asText());
        assertTrue(report.at("/results/0/peers/0/ratio").isNull());
        assertEquals("not run: it refused an earlier test", report.at("/results/1/peers/0/error").asText());
    }

    /**
     * A quantized cache is compared with the peer's own: it gets -ctk/-ctv (and -fa 1 for a quantized V),
     * and a type it lacks is its refusal, reported in its words while Ternion still measures.
     */
    @Test
    void theKvCacheTypesGoToThePeer() throws IOException {
        Path peer = fakePeer("kv", 0);
        Result r = bench("--peer", peer.toString(), "-ctk", "q8_0", "-ctv", "q8_0");
        assertEquals(0, r.code(), r.err());
        String same = "-m " + model + " ";
        assertEquals(List.of(same + "-p 8 -n 0 -t 1 -r 1 -o json -ctk q8_0 -ctv q8_0 -fa 1", same + "-p 0 -n 4 -t 1 -r 1 -o json -ctk q8_0 -ctv q8_0 -fa 1"),
                calls(peer).stream().distinct().toList());

        Path folder = Files.createDirectories(dir.resolve("no-turbo"));
        Path lacking = executable(folder.resolve("llama-bench"), "echo \"$@\" >> " + folder.resolve("args.log") + "\n"
                + "echo 'error: invalid parameter for argument: -ctk' >&2\nexit 1\n");
        Result t = bench("--peer", lacking.toString(), "-ctk", "turbo3", "-ctv", "turbo3");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("refused the run: exit 1: error: invalid parameter for argument: -ctk"), t.out());
        assertTrue(calls(lacking).get(0).endsWith("-ctk turbo3 -ctv turbo3 -fa 1"), calls(lacking).toString());
    }

    /** Also the markdown table: the peer's t/s and the ratio beside Ternion's columns. */
    @Test
    void aBaselineWithThePeerIsCheckedOnTheRatio() throws IOException {
        Path peer = fakePeer("baseline-peer", 0);
        Path saved = dir.resolve("with-peer.json");
        assertEquals(0, bench("--peer", peer.toString(), "--format", "json", "--save-baseline", saved.toString()).code());
        Result pass = bench("--peer", peer.toString(), "--baseline", ratioScaled(saved, "slow-ratio.json", 1e-6).toString());
        assertEquals(0, pass.code(), pass.err());
        assertTrue(pass.err().matches("(?s).*cpu +1 +tg4 +ratio to " + peer + " .* ok\n.*"), pass.err());
        assertTrue(pass.out().contains("- peer: " + peer + ", build fake123 (7), model 'fake 1M ternary'\n"), pass.out());
        assertTrue(pass.out().contains("| test | t/s | roofline | peer t/s | ratio |"), pass.out());
        assertTrue(pass.out().matches("(?s).*\\| tg4 \\| [0-9.]+ ± [0-9.]+ \\| [0-9]+% \\| 100\\.00 ± 0\\.00 \\| [0-9.]+× \\|.*"), pass.out());

        Result fail = bench("--peer", peer.toString(), "--format", "json", "--baseline", ratioScaled(saved, "fast-ratio.json", 1e6).toString());
        assertEquals(Main.PERF_REGRESSION, fail.code(), fail.err());
        JsonNode row = JSON.readTree(fail.out()).at("/regression_check/rows/1");
        assertEquals("peer_ratio", row.get("figure").asText());
        assertEquals(peer.toString(), row.get("peer").asText());
        assertEquals("regressed", row.get("status").asText());
    }

    /** The saved report with each peer ratio times {@code factor} (the other figures as they were). */
    static Path ratioScaled(Path saved, String name, double factor) throws IOException {
        JsonNode j = JSON.readTree(saved.toFile());
        for (JsonNode r : j.get("results")) {
            for (JsonNode p : r.get("peers")) ((ObjectNode) p).put("ratio", p.get("ratio").asDouble() * factor);
            // Far from this run on the probe figures too, the other way: only the ratio decides.
            for (String f : List.of("relative_speed", "roofline_fraction")) {
                if (!r.get(f).isNull()) ((ObjectNode) r).put(f, r.get(f).asDouble() / factor);
            }
        }
        Path p = dir.resolve(name);
        JSON.writeValue(p.toFile(), j);
        return p;
    }

    /** -d as llama-bench: each depth a pp and a tg test after that many tokens, named "@ dN", passed to the peer. */
    @Test
    void depthsRunEachTestAfterThatManyTokensOnStories260K() throws IOException {
        Path peer = fakePeer("depth-peer", 0);
        Path stories = InfoCommandTest.bundledModel();
        Result r = ternion("bench", "-m", stories.toString(), "-p", "8", "-n", "4", "-r", "1", "-t", "1", "-d", "0,300",
                "--peer", peer.toString(), "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        assertEquals("[0,300]", j.at("/settings/depths").toString());
        List<String> tests = new ArrayList<>();
        for (JsonNode x : j.get("results")) tests.add(x.get("test").asText() + " " + x.get("depth").asInt());
        assertEquals(List.of("pp8 0", "tg4 0", "pp8 @ d300 300", "tg4 @ d300 300"), tests);
        String same = "-m " + stories + " ";
        assertEquals(List.of(same + "-p 8 -n 0 -t 1 -r 1 -o json", same + "-p 0 -n 4 -t 1 -r 1 -o json",
                same + "-p 8 -n 0 -t 1 -r 1 -o json -d 300", same + "-p 0 -n 4 -t 1 -r 1 -o json -d 300"), calls(peer));

        Result md = ternion("bench", "-m", stories.toString(), "-p", "0", "-n", "4", "-r", "1", "-t", "1", "-d", "600");
        assertEquals(0, md.code(), md.err());
        assertTrue(md.out().matches("(?s).*\\| tg4 @ d600 \\| [0-9.]+ ± [0-9.]+ \\|.*"),
                "past stories260K's 512 trained positions, as llama-bench would: " + md.out());
    }

    @Test
    void badPeerOrDepthFlagsAreOneLineAndExit2() {
        assertError(bench("-d", "-1"), "-d must list depths from 0 to 16777216, not -1");
        assertError(bench("-d", "2147483647"), "-d must list depths from 0 to 16777216, not 2147483647");
        assertError(bench("-d", "8", "--parallel", "2"), "-d applies to pp and tg, not to --parallel's tests");
        assertError(bench("--peer", dir.resolve("none").toString(), "--parallel", "2"), "--peer runs llama-bench, which has no --parallel test");
        assertError(bench("--peer", dir.resolve("none").toString()), "--peer " + dir.resolve("none") + ": no such file");
    }
}
