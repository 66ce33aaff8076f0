package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ternion.cli.InfoCommandTest.Result;
import io.ternion.gguf.GgmlType;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ternion bench} on a tiny synthetic model. Its speeds are noise (the model fits in L2, and
 * the first run in a JVM can be 100× slower than the next), so the regression tests use baselines
 * far from any real run: a million times slower must pass, a million times faster must fail.
 */
class BenchCommandTest {
    @TempDir
    static Path dir;
    static Path model, baseline;
    static Result saved;
    static final ObjectMapper JSON = new ObjectMapper();

    /** One run, as CSV, saved as a baseline for the regression tests. */
    @BeforeAll
    static void benchOnce() throws IOException {
        model = tinyModel(dir);
        baseline = dir.resolve("baseline.json");
        saved = bench("--format", "csv", "--save-baseline", baseline.toString());
        assertEquals(0, saved.code(), saved.err());
    }

    static Path tinyModel(Path dir) throws IOException {
        Path m = dir.resolve("tiny.gguf");
        Synth.write(Preset.ALL.get("tiny-bitnet-b1.58"), GgmlType.I2_S, 1, null, m);
        return m;
    }

    static Result bench(String... more) {
        return benchOn(model, more);
    }

    /** bench on {@code model} with small tests, two repetitions, one thread, and {@code more}. */
    static Result benchOn(Path model, String... more) {
        List<String> args = new ArrayList<>(List.of("bench", "-m", model.toString(), "-p", "8", "-n", "4", "-r", "2", "-t", "1"));
        args.addAll(List.of(more));
        return ternion(args.toArray(String[]::new));
    }

    static void assertFields(JsonNode node, String... names) {
        List<String> actual = new ArrayList<>();
        node.fieldNames().forEachRemaining(actual::add);
        assertEquals(List.of(names), actual, node.toString());
    }

    @Test
    void jsonReportHasTheDocumentedSchema() throws IOException {
        JsonNode j = JSON.readTree(baseline.toFile());
        assertFields(j, "schema", "model", "machine", "settings", "results", "skipped", "regression_check", "peers");
        assertEquals(0, j.get("peers").size(), "no --peer");
        assertEquals("ternion-bench/1", j.get("schema").asText());
        assertTrue(j.get("regression_check").isNull());
        assertTrue(j.get("skipped").isArray());

        JsonNode m = j.get("model");
        assertFields(m, "file", "architecture", "type", "parameters", "size_bytes", "weight_bytes_per_token");
        assertEquals(model.toString(), m.get("file").asText());
        assertEquals("bitnet-b1.58", m.get("architecture").asText());
        assertEquals("I2_S", m.get("type").asText());
        assertTrue(m.get("parameters").isIntegralNumber() && m.get("size_bytes").isIntegralNumber());
        Result info = ternion("info", "--json", "-m", model.toString());
        assertEquals(JSON.readTree(info.out()).at("/totals/weight_bytes_per_token").asLong(), m.get("weight_bytes_per_token").asLong(),
                "bench divides the same bytes per token that info reports");

        JsonNode machine = j.get("machine");
        assertFields(machine, "cpu", "cores", "vector_bits", "java", "os", "bandwidth", "devices");
        assertTrue(machine.get("cpu").isTextual() && machine.get("cores").isInt() && machine.get("vector_bits").isInt());
        assertFields(machine.get("bandwidth").get(0), "threads", "bytes_per_second");
        assertTrue(machine.at("/bandwidth/0/bytes_per_second").asDouble() > 1e8, "a probe slower than 100 MB/s did not measure memory");
        assertTrue(machine.at("/devices/cpu").asText().startsWith("CPU"), machine.toString());

        assertFields(j.get("settings"), "prompt_tokens", "gen_tokens", "repetitions", "parallel", "depths");
        assertEquals("[0]", j.at("/settings/depths").toString(), "no -d: an empty cache");
        assertTrue(j.at("/settings/parallel").isNull(), "no --parallel");
        JsonNode results = j.get("results");
        assertEquals(2, results.size());
        for (JsonNode r : results) {
            assertFields(r, "backend", "device", "threads", "test", "tokens", "tokens_per_second_mean", "tokens_per_second_stddev",
                    "tokens_per_second_samples", "probe_bytes_per_second", "relative_speed", "roofline_fraction", "sequences", "depth", "peers");
            assertEquals(0, r.get("depth").asInt());
            assertEquals(0, r.get("peers").size());
            assertTrue(r.get("sequences").isNull(), "one sequence: the classic tests");
            assertEquals("cpu", r.get("backend").asText());
            assertEquals(1, r.get("threads").asInt());
            assertEquals(2, r.get("tokens_per_second_samples").size());
            assertTrue(r.get("tokens_per_second_mean").asDouble() > 0);
            assertTrue(r.get("probe_bytes_per_second").asDouble() > 1e8, "a probe slower than 100 MB/s did not measure memory");
            assertTrue(r.get("relative_speed").asDouble() > 0);
        }
        JsonNode pp = results.get(0), tg = results.get(1);
        assertEquals("pp8", pp.get("test").asText());
        assertEquals(8, pp.get("tokens").asInt());
        assertTrue(pp.get("roofline_fraction").isNull(), "a roofline is a decode figure");
        assertEquals("tg4", tg.get("test").asText());
        assertEquals(tg.get("relative_speed").asDouble() * m.get("weight_bytes_per_token").asLong() / 1e9,
                tg.get("roofline_fraction").asDouble(), 1e-12 * tg.get("roofline_fraction").asDouble());
    }

    /** --parallel 1,3: pp, then a tg test per sequence count; all sequences' tokens counted, the roofline per pass over the weights. */
    @Test
    void parallelRunsATgTestPerSequenceCount() throws IOException {
        Result r = bench("--parallel", "1,3", "--format", "json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = JSON.readTree(r.out());
        assertEquals("[1,3]", j.at("/settings/parallel").toString());
        JsonNode results = j.get("results");
        assertEquals(List.of("pp8", "tg4 np1", "tg4 np3"), List.of(results.get(0).get("test").asText(), results.get(1).get("test").asText(),
                results.get(2).get("test").asText()));
        JsonNode three = results.get(2);
        assertEquals(3, three.get("sequences").asInt());
        assertEquals(12, three.get("tokens").asInt(), "three sequences of four tokens");
        long bytes = j.at("/model/weight_bytes_per_token").asLong();
        assertEquals(three.get("relative_speed").asDouble() / 3 * bytes / 1e9, three.get("roofline_fraction").asDouble(),
                1e-12 * three.get("roofline_fraction").asDouble(), "a step reads the weights once for all three tokens");

        Result md = bench("--parallel", "2");
        assertEquals(0, md.code(), md.err());
        assertTrue(md.out().contains("| test | t/s | t/s per seq | roofline |"), md.out());
        assertTrue(md.out().matches("(?s).*\\| tg4 np2 \\| [0-9.]+ ± [0-9.]+ \\| [0-9.]+ \\| [0-9]+% \\|.*"), md.out());

        Result bad = bench("-np", "0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--parallel must list sequence counts from 1 to 1024, not 0"), bad.err());
    }

    @Test
    void csvHasAHeaderAndOneLinePerResult() {
        String[] lines = saved.out().split("\n");
        assertEquals(3, lines.length, saved.out());
        assertTrue(lines[0].startsWith("model,architecture,type,size_bytes,parameters,weight_bytes_per_token,backend,device,threads,test,"));
        assertTrue(lines[1].contains(",cpu,\"CPU, "), "the device holds commas, so it is quoted: " + lines[1]);
        assertTrue(lines[2].contains(",1,tg4,4,"), lines[2]);
        assertTrue(saved.err().matches("(?s).*\nternion: bench: cpu, 1 thread, tg4: [0-9.]+ ± [0-9.]+ tok/s \\(probe [0-9.]+ GB/s\\)\n.*"),
                saved.err());
        assertTrue(saved.err().contains("saved this run as a baseline in " + baseline), saved.err());
        assertEquals("", BenchCommand.csv(""));
        assertEquals("\"say \"\"hi\"\"\"", BenchCommand.csv("say \"hi\""));
    }

    /** The baseline's figures times {@code factor}, written to a new file. */
    static Path scaled(String name, double factor) throws IOException {
        JsonNode j = JSON.readTree(baseline.toFile());
        for (JsonNode r : j.get("results")) {
            ObjectNode o = (ObjectNode) r;
            for (String f : List.of("tokens_per_second_mean", "relative_speed", "roofline_fraction")) {
                if (!o.get(f).isNull()) o.put(f, o.get(f).asDouble() * factor);
            }
        }
        Path p = dir.resolve(name);
        JSON.writeValue(p.toFile(), j);
        return p;
    }

    @Test
    void aFarSlowerBaselinePassesWithAMarkdownTable() throws IOException {
        Result r = bench("--baseline", scaled("slow.json", 1e-6).toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("| model | size | params | type | backend | threads | test | t/s | roofline |"), r.out());
        assertTrue(r.out().matches("(?s).*\\| bitnet-b1\\.58 \\| [0-9.]+ KiB \\| 1\\.31 M \\| I2_S \\| cpu \\| 1 \\| tg4 \\| [0-9.]+ ± [0-9.]+ \\| [0-9]+% \\|.*"),
                r.out());
        assertTrue(r.out().contains("- read bandwidth probe: "), r.out());
        assertTrue(r.err().contains("no regression"), r.err());
        assertTrue(r.err().matches("(?s).*cpu +1 +tg4 +roofline_fraction .* ok\n.*"), r.err());
    }

    @Test
    void aFarFasterBaselineFailsWithExit3AndATable() throws IOException {
        Result r = ternion("bench", "-m", model.toString(), "-p", "8", "-n", "4", "-r", "2", "-t", "1", "--format", "json",
                "--baseline", scaled("fast.json", 1e6).toString(), "--max-regression", "50%");
        assertEquals(Main.PERF_REGRESSION, r.code(), r.err());
        assertTrue(r.err().contains("(a drop of more than 50% fails): 2 regressed"), r.err());
        assertTrue(r.err().matches("(?s).*cpu +1 +pp8 +relative_speed .* -[0-9.]+% +regressed\n.*"), r.err());
        JsonNode check = JSON.readTree(r.out()).get("regression_check");
        assertFields(check, "baseline", "max_regression", "regressed", "rows");
        assertTrue(check.get("regressed").asBoolean());
        assertEquals(0.5, check.get("max_regression").asDouble());
        JsonNode row = check.get("rows").get(1);
        assertFields(row, "backend", "threads", "test", "figure", "baseline", "current", "change", "status", "peer");
        assertEquals("roofline_fraction", row.get("figure").asText());
        assertEquals("regressed", row.get("status").asText());
    }

    @Test
    void badInputIsOneLineAndExit2() throws IOException {
        assertError(ternion("bench", "-m", model.toString(), "-r", "0"), "-r must be >= 1, not 0");
        assertError(ternion("bench", "-m", model.toString(), "-p", "0", "-n", "0"), "-p and -n are both 0: nothing to measure");
        assertError(ternion("bench", "-m", model.toString(), "-t", "2,0"), "-t must list thread counts >= 1, not 0");
        assertError(bench("--max-regression", "5%"), "--max-regression needs --baseline");
        assertError(bench("--baseline", baseline.toString(), "--max-regression", "lots"),
                "--max-regression must be a percentage from 0 to 100, such as 10%, not 'lots'");
        assertError(bench("--backend", "quantum"), "no backend could run: quantum: unknown backend 'quantum'");
        assertError(bench("--baseline", dir.resolve("none.json").toString()), "no such file: " + dir.resolve("none.json"));
        Path notJson = Files.writeString(dir.resolve("not.json"), "pp 12 tok/s");
        assertError(bench("--baseline", notJson.toString()), "the baseline " + notJson + " is not a bench JSON report");
        Path otherJson = Files.writeString(dir.resolve("other.json"), "{\"schema\": \"ternion-compare/1\"}");
        assertError(bench("--baseline", otherJson.toString()), "the baseline " + otherJson + " is not a ternion-bench/1 report");
        assertError(ternion("bench", "-m", dir.resolve("none.gguf").toString()), "no such file: " + dir.resolve("none.gguf"));
        assertEquals(Main.USER_ERROR, bench("--format", "xml").code());
    }

    static void assertError(Result r, String message) {
        assertEquals(Main.USER_ERROR, r.code(), r.err());
        assertEquals("", r.out());
        Iterator<String> lines = r.err().lines().filter(l -> !l.startsWith("ternion: bench: skipping")).iterator();
        String line = lines.next();
        assertTrue(line.startsWith("ternion: error: " + message), r.err());
        assertFalse(lines.hasNext(), "one line: " + r.err());
    }
}
