package io.ternion.harness;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.harness.RegressionCheck.Status;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RegressionCheckTest {
    static final ModelInfo MODEL = new ModelInfo("a.gguf", "bitnet-b1.58", "I2_S", 2_000_000_000L, 1_100_000_000L, 1_000_000_000L);
    static final double GB = 1e9;

    /** A cpu result: tokens/s measured against a probe of {@code probeGbps}. */
    static BenchReport.Result cpu(int threads, String test, double tps, double probeGbps) {
        boolean tg = test.startsWith("tg");
        return new BenchReport.Result("cpu", "CPU", threads, test, 16, tps, 0.1, List.of(tps), probeGbps * GB, tps / probeGbps,
                tg ? MODEL.weightBytesPerToken() * tps / (probeGbps * GB) : null, null, 0, List.of());
    }

    static BenchReport.Result gpu(String test, double tps) {
        return new BenchReport.Result("opencl", "GPU", 2, test, 16, tps, 0.1, List.of(tps), 30 * GB, null, null, null, 0, List.of());
    }

    static BenchReport report(ModelInfo model, BenchReport.Result... results) {
        Machine m = new Machine("cpu", 2, 512, "25", "Linux", List.of(new Machine.Bandwidth(2, 30 * GB)), Map.of("cpu", "CPU"));
        return new BenchReport(BenchReport.SCHEMA, model, m, new BenchReport.Settings(16, 16, 3, null, List.of(0)), List.of(results), List.of(),
                null, List.of());
    }

    @Test
    void aSlowerMachineIsNotARegressionWhenTheProbeSlowedAsMuch() {
        // Baseline: 10 tok/s at 30 GB/s. Now a busier machine: 8 tok/s, and the probe also fell 20%.
        BenchReport baseline = report(MODEL, cpu(2, "pp16", 50, 30), cpu(2, "tg16", 10, 30));
        BenchReport now = report(MODEL, cpu(2, "pp16", 40, 24), cpu(2, "tg16", 8, 24));
        RegressionCheck c = RegressionCheck.of(now, baseline, "base.json", 0.10);
        assertFalse(c.regressed());
        assertEquals(List.of(Status.OK, Status.OK), c.rows().stream().map(RegressionCheck.Row::status).toList());
        assertEquals("relative_speed", c.rows().get(0).figure());
        assertEquals("roofline_fraction", c.rows().get(1).figure());
        assertEquals(0, c.rows().get(1).change(), 1e-12);
    }

    @Test
    void aSlowerKernelIsARegression() {
        // Same probe, tg 20% slower: past a 10% limit, within a 25% one.
        BenchReport baseline = report(MODEL, cpu(2, "pp16", 50, 30), cpu(2, "tg16", 10, 30));
        BenchReport now = report(MODEL, cpu(2, "pp16", 49, 30), cpu(2, "tg16", 8, 30));
        RegressionCheck c = RegressionCheck.of(now, baseline, "base.json", 0.10);
        assertTrue(c.regressed());
        RegressionCheck.Row tg = c.rows().get(1);
        assertEquals(Status.REGRESSED, tg.status());
        assertEquals(-0.2, tg.change(), 1e-12);
        assertEquals(Status.OK, c.rows().get(0).status(), "2% slower is within 10%");
        assertFalse(RegressionCheck.of(now, baseline, "base.json", 0.25).regressed());
    }

    @Test
    void newAndMissingResultsAreListedButDoNotFail() {
        BenchReport baseline = report(MODEL, cpu(1, "tg16", 5, 25), cpu(2, "tg16", 10, 30));
        BenchReport now = report(MODEL, cpu(2, "tg16", 10, 30), cpu(4, "tg16", 12, 30));
        RegressionCheck c = RegressionCheck.of(now, baseline, "base.json", 0.10);
        assertFalse(c.regressed());
        assertEquals(List.of(Status.OK, Status.NEW, Status.MISSING), c.rows().stream().map(RegressionCheck.Row::status).toList());
        assertEquals(1, c.rows().get(2).threads());
    }

    @Test
    void aDeviceBackendIsComparedOnTokensPerSecond() {
        RegressionCheck c = RegressionCheck.of(report(MODEL, gpu("tg16", 50)), report(MODEL, gpu("tg16", 100)), "base.json", 0.10);
        assertEquals("tokens_per_second", c.rows().getFirst().figure());
        assertTrue(c.regressed());
    }

    @Test
    void anotherModelOrNothingInCommonIsAnError() {
        ModelInfo other = new ModelInfo("b.gguf", "bitnet-b1.58", "TQ2_0", 2_000_000_000L, 1_200_000_000L, 1_100_000_000L);
        var e = assertThrows(IllegalArgumentException.class,
                () -> RegressionCheck.of(report(MODEL, cpu(2, "tg16", 10, 30)), report(other, cpu(2, "tg16", 10, 30)), "base.json", 0.1));
        assertTrue(e.getMessage().contains("is for another model (bitnet-b1.58 TQ2_0"), e.getMessage());

        ModelInfo moved = new ModelInfo("/elsewhere/a.gguf", MODEL.architecture(), MODEL.type(), MODEL.parameters(), MODEL.sizeBytes(),
                MODEL.weightBytesPerToken());
        assertFalse(RegressionCheck.of(report(MODEL, cpu(2, "tg16", 10, 30)), report(moved, cpu(2, "tg16", 10, 30)), "b", 0.1).regressed(),
                "the same weights at another path are the same model");

        e = assertThrows(IllegalArgumentException.class,
                () -> RegressionCheck.of(report(MODEL, cpu(2, "tg32", 10, 30)), report(MODEL, cpu(2, "tg16", 10, 30)), "base.json", 0.1));
        assertTrue(e.getMessage().contains("no result of this run matches one in the baseline base.json (it has cpu t2 tg16)"), e.getMessage());
    }

    /** A cpu result with one peer beside it, which ran at {@code peerTps}. */
    static BenchReport.Result withPeer(BenchReport.Result r, String peer, double peerTps) {
        var p = new BenchReport.PeerResult(peer, peerTps, 0.0, List.of(peerTps), r.tokensPerSecondMean() / peerTps, null);
        return new BenchReport.Result(r.backend(), r.device(), r.threads(), r.test(), r.tokens(), r.tokensPerSecondMean(),
                r.tokensPerSecondStddev(), r.tokensPerSecondSamples(), r.probeBytesPerSecond(), r.relativeSpeed(), r.rooflineFraction(),
                r.sequences(), r.depth(), List.of(p));
    }

    @Test
    void withTheSamePeerInBothTheRatioToItIsCompared() {
        // Ternion and the peer both 40% slower now, the probe unchanged: the ratio held, so no regression.
        BenchReport baseline = report(MODEL, withPeer(cpu(2, "tg16", 10, 30), "/p/llama-bench", 8));
        BenchReport now = report(MODEL, withPeer(cpu(2, "tg16", 6, 30), "/p/llama-bench", 4.8));
        RegressionCheck c = RegressionCheck.of(now, baseline, "base.json", 0.10);
        RegressionCheck.Row row = c.rows().getFirst();
        assertEquals("peer_ratio", row.figure());
        assertEquals("/p/llama-bench", row.peer());
        assertEquals(1.25, row.baseline(), 1e-12);
        assertEquals(0, row.change(), 1e-12);
        assertFalse(c.regressed(), "the roofline fraction fell 40%, but so did the peer");

        // Ternion alone slower: the ratio falls.
        BenchReport slower = report(MODEL, withPeer(cpu(2, "tg16", 6, 30), "/p/llama-bench", 8));
        assertTrue(RegressionCheck.of(slower, baseline, "base.json", 0.10).regressed());
    }

    @Test
    void withoutTheSamePeerOnBothSidesTheProbeFigureIsCompared() {
        BenchReport baseline = report(MODEL, cpu(2, "tg16", 10, 30));
        BenchReport now = report(MODEL, withPeer(cpu(2, "tg16", 10, 30), "/p/llama-bench", 8));
        RegressionCheck c = RegressionCheck.of(now, baseline, "base.json", 0.10);
        assertEquals("roofline_fraction", c.rows().getFirst().figure());
        assertNull(c.rows().getFirst().peer());
        BenchReport otherPeer = report(MODEL, withPeer(cpu(2, "tg16", 10, 30), "/q/llama-bench", 8));
        assertEquals("roofline_fraction", RegressionCheck.of(now, otherPeer, "base.json", 0.10).rows().getFirst().figure());
    }
}
