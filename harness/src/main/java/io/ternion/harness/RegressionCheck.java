package io.ternion.harness;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A bench run against a stored baseline (an earlier run's JSON). Raw tokens/s move with whatever
 * else the machine is doing, so each result is compared on a figure divided by the bandwidth probe
 * of the same run: the roofline fraction for tg, tokens/s per GB/s of probe for pp; only a backend
 * on a device (where the host probe says nothing) is compared on tokens/s. Where both runs timed a
 * {@code --peer} beside the result, the figure is instead Ternion's speed ÷ that peer's (the first
 * peer both have), which holds still under any load that slows both alike. A result is regressed
 * when its figure fell by more than {@code maxRegression} (a fraction: 0.1 is 10%).
 */
public record RegressionCheck(String baseline, double maxRegression, boolean regressed, List<Row> rows) {

    public enum Status {
        OK, REGRESSED, /** in this run, not in the baseline */ NEW, /** in the baseline, not in this run */ MISSING;

        @JsonValue
        public String json() { return name().toLowerCase(Locale.ROOT); }
    }

    /**
     * @param change current ÷ baseline − 1 (−0.2: 20% slower); null when one side is absent
     * @param peer   the peer binary of a {@code peer_ratio} figure; null for the other figures
     */
    public record Row(String backend, int threads, String test, String figure, Double baseline, Double current,
                      Double change, Status status, String peer) {}

    /**
     * Compares {@code current} with {@code baseline}, matching results by backend, threads and test.
     * A baseline of another model, or one that shares no result with this run (which would pass
     * whatever happened), is an IllegalArgumentException: a CI job should fail loudly on either.
     */
    public static RegressionCheck of(BenchReport current, BenchReport baseline, String baselineName, double maxRegression) {
        if (!current.model().sameWeightsAs(baseline.model())) {
            throw new IllegalArgumentException("the baseline " + baselineName + " is for another model (" + baseline.model().describe()
                    + ") than this run (" + current.model().describe() + ")");
        }
        Map<String, BenchReport.Result> before = new LinkedHashMap<>();
        for (BenchReport.Result r : baseline.results()) before.put(r.key(), r);
        List<Row> rows = new ArrayList<>();
        boolean regressed = false, matched = false;
        for (BenchReport.Result now : current.results()) {
            BenchReport.Result then = before.remove(now.key());
            String peer = then == null ? null : sharedPeer(now, then);
            String figure = peer != null ? PEER_RATIO : figure(now);
            Double b = then == null ? null : value(then, figure, peer), c = value(now, figure, peer);
            if (b == null || b <= 0) {
                rows.add(new Row(now.backend(), now.threads(), now.test(), figure, null, c, null, Status.NEW, null));
                continue;
            }
            matched = true;
            double change = c / b - 1;
            Status status = change < -maxRegression ? Status.REGRESSED : Status.OK;
            regressed |= status == Status.REGRESSED;
            rows.add(new Row(now.backend(), now.threads(), now.test(), figure, b, c, change, status, peer));
        }
        for (BenchReport.Result then : before.values()) {
            String figure = figure(then);
            rows.add(new Row(then.backend(), then.threads(), then.test(), figure, value(then, figure, null), null, null, Status.MISSING, null));
        }
        if (!matched) {
            throw new IllegalArgumentException("no result of this run matches one in the baseline " + baselineName + " (it has "
                    + String.join(", ", baseline.results().stream().map(BenchReport.Result::key).toList())
                    + "): run the same tests, backends and threads");
        }
        return new RegressionCheck(baselineName, maxRegression, regressed, rows);
    }

    static String figure(BenchReport.Result r) {
        if (r.rooflineFraction() != null) return "roofline_fraction";
        if (r.relativeSpeed() != null) return "relative_speed";
        return "tokens_per_second";
    }

    static final String PEER_RATIO = "peer_ratio";

    /** The first peer of {@code now} with a ratio that {@code then} also has a ratio for (matched by its path); null if none. */
    private static String sharedPeer(BenchReport.Result now, BenchReport.Result then) {
        if (now.peers() == null) return null;
        for (BenchReport.PeerResult p : now.peers()) {
            BenchReport.PeerResult q = then.peer(p.binary());
            if (p.ratio() != null && q != null && q.ratio() != null) return p.binary();
        }
        return null;
    }

    private static Double value(BenchReport.Result r, String figure, String peer) {
        return switch (figure) {
            case PEER_RATIO -> r.peer(peer).ratio();
            case "roofline_fraction" -> r.rooflineFraction();
            case "relative_speed" -> r.relativeSpeed();
            default -> r.tokensPerSecondMean();
        };
    }
}
