package io.ternion.harness;

import io.ternion.graph.KvTypes;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The {@code --peer} llama-benches of one bench run and what they said. A peer whose first run fails
 * has refused the file (or a flag): it is reported with its message and not run again. One that
 * fails later stops for the rest of that test only (a depth it has no room for, say).
 */
final class Peers {
    static final Test NONE = new Peers(List.of(), null, KvTypes.F16, line -> {}).test(0, 0, 0, 0);

    private final List<State> states = new ArrayList<>();
    private final Path model;
    private final KvTypes kv;
    private final Consumer<String> progress;

    private static final class State {
        final LlamaBenchPeer peer;
        String build, modelType, refusal;
        boolean ran;

        State(LlamaBenchPeer peer) { this.peer = peer; }
    }

    Peers(List<Path> binaries, Path model, KvTypes kv, Consumer<String> progress) {
        for (Path b : binaries) states.add(new State(new LlamaBenchPeer(b)));
        this.model = model;
        this.kv = kv;
        this.progress = progress;
    }

    /** One test's peer runs: pp ({@code gen} 0) or tg ({@code prompt} 0) at {@code depth}. */
    Test test(int threads, int prompt, int gen, int depth) {
        return new Test(threads, prompt, gen, depth);
    }

    final class Test {
        private final int threads, prompt, gen, depth;
        private final List<List<Double>> samples = new ArrayList<>();
        private final List<String> errors = new ArrayList<>();

        private Test(int threads, int prompt, int gen, int depth) {
            this.threads = threads;
            this.prompt = prompt;
            this.gen = gen;
            this.depth = depth;
            for (int i = 0; i < states.size(); i++) {
                samples.add(new ArrayList<>());
                errors.add(null);
            }
        }

        /** Runs each peer still running once: the run right before Ternion's timed run {@code repetition}. */
        void runOnce(int repetition) {
            for (int i = 0; i < states.size(); i++) {
                State st = states.get(i);
                if (st.refusal != null || errors.get(i) != null) continue;
                try {
                    LlamaBenchPeer.Run r = st.peer.run(model, threads, prompt, gen, depth, kv);
                    samples.get(i).add(r.tokensPerSecond());
                    st.ran = true;
                    st.build = r.build();
                    st.modelType = r.modelType();
                } catch (LlamaBenchPeer.Failure e) {
                    errors.set(i, e.getMessage());
                    if (!st.ran) st.refusal = e.getMessage();
                    progress.accept("peer " + st.peer.binary() + (st.ran ? " failed: " : " refused the run: ") + e.getMessage());
                }
            }
        }

        /** Each peer's runs beside Ternion's, whose median tokens/s is {@code ternionMedian}. */
        List<BenchReport.PeerResult> results(double ternionMedian) {
            List<BenchReport.PeerResult> out = new ArrayList<>();
            for (int i = 0; i < states.size(); i++) {
                List<Double> xs = List.copyOf(samples.get(i));
                String error = errors.get(i);
                if (error == null && xs.isEmpty()) error = "not run: it refused an earlier test";
                Stats st = xs.isEmpty() ? null : Stats.of(xs);
                Double ratio = error == null ? ternionMedian / BenchRunner.median(xs) : null;
                out.add(new BenchReport.PeerResult(states.get(i).peer.binary().toString(), st == null ? null : st.mean(),
                        st == null ? null : st.stddev(), xs, ratio, error));
            }
            return List.copyOf(out);
        }
    }

    /** The report's {@code peers[]}: what each said about itself, or why it measured nothing. */
    List<BenchReport.Peer> report() {
        return states.stream().map(s -> new BenchReport.Peer(s.peer.binary().toString(), s.build, s.modelType, s.ran ? null : s.refusal))
                .toList();
    }

    /** The progress line's tail: "; peer: 12.3 tok/s, Ternion 1.25×" per peer. */
    static String describe(BenchReport.Result r) {
        StringBuilder b = new StringBuilder();
        for (BenchReport.PeerResult p : r.peers()) {
            if (p.ratio() == null) continue;
            b.append(String.format(Locale.ROOT, "; %s: %.2f ± %.2f tok/s, Ternion %.2f×", p.binary(), p.tokensPerSecondMean(),
                    p.tokensPerSecondStddev(), p.ratio()));
        }
        return b.toString();
    }
}
