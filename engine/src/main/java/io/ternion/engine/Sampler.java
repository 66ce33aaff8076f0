package io.ternion.engine;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits, in llama.cpp's default order: repeat penalty over the last N
 * tokens, then top-k, top-p, min-p, temperature, and a draw from what is left. Greedy (temperature
 * 0) takes the argmax, ties to the lowest id. Seeded runs repeat exactly.
 */
public final class Sampler {
    private final SamplerParams p;
    private final SplittableRandom random;
    private final long seed;

    public Sampler(SamplerParams params) {
        this.p = params;
        this.seed = params.seed() >= 0 ? params.seed() : new SplittableRandom().nextLong() & Long.MAX_VALUE;
        this.random = new SplittableRandom(seed);
    }

    /** The seed actually used (a random one when none was given). */
    public long seed() { return seed; }

    /**
     * @param logits  one per vocabulary entry; modified (penalties)
     * @param history tokens so far; the last {@code repeatLastN} are penalised
     */
    public int sample(float[] logits, int[] history, int historyLength) {
        applyRepeatPenalty(logits, history, historyLength);
        if (p.temperature() <= 0) return argmax(logits);

        // Candidates sorted by logit, highest first (ties: lower id first), cut to top-k.
        int n = logits.length;
        int keep = p.topK() > 0 ? Math.min(p.topK(), n) : n;
        int[] order = top(logits, keep);

        // top-p: the smallest prefix whose probability reaches p.
        if (p.topP() < 1) {
            double[] prob = softmax(logits, order, keep, 1f);
            double cum = 0;
            for (int i = 0; i < keep; i++) {
                cum += prob[i];
                if (cum >= p.topP()) { keep = i + 1; break; }
            }
        }
        // min-p: drop tokens less likely than min-p times the most likely one.
        if (p.minP() > 0) {
            double threshold = logits[order[0]] + Math.log(p.minP());
            int k = 1;
            while (k < keep && logits[order[k]] >= threshold) k++;
            keep = k;
        }
        double[] prob = softmax(logits, order, keep, p.temperature());
        double r = random.nextDouble(), cum = 0;
        for (int i = 0; i < keep; i++) {
            cum += prob[i];
            if (r < cum) return order[i];
        }
        return order[keep - 1];
    }

    /** llama.cpp's penalties sampler: the repeat penalty scales, presence and frequency subtract, over the last N tokens. */
    private void applyRepeatPenalty(float[] logits, int[] history, int length) {
        if (!p.penalizes()) return;
        java.util.Map<Integer, Integer> counts = new java.util.HashMap<>();
        for (int i = Math.max(0, length - p.repeatLastN()); i < length; i++) {
            int t = history[i];
            if (t >= 0 && t < logits.length) counts.merge(t, 1, Integer::sum);
        }
        for (var e : counts.entrySet()) {
            int t = e.getKey();
            float l = logits[t] > 0 ? logits[t] / p.repeatPenalty() : logits[t] * p.repeatPenalty();
            logits[t] = l - e.getValue() * p.frequencyPenalty() - p.presencePenalty();
        }
    }

    /** The largest logit's index, the lowest on ties (masked tokens are −∞; the logits were checked for NaN before). */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /**
     * The ids of the {@code k} largest logits, largest first. Each candidate is one long (the
     * logit's order-preserving bits above the inverted id), so the selection runs on primitives.
     */
    static int[] top(float[] logits, int k) {
        long[] heap = new long[k]; // a min-heap of the best k so far
        int size = 0;
        for (int id = 0; id < logits.length; id++) {
            long key = key(logits[id], id);
            if (size < k) {
                int i = size++;
                while (i > 0 && heap[(i - 1) >>> 1] > key) { heap[i] = heap[(i - 1) >>> 1]; i = (i - 1) >>> 1; }
                heap[i] = key;
            } else if (key > heap[0]) {
                int i = 0;
                while (true) {
                    int c = 2 * i + 1;
                    if (c >= k) break;
                    if (c + 1 < k && heap[c + 1] < heap[c]) c++;
                    if (heap[c] >= key) break;
                    heap[i] = heap[c];
                    i = c;
                }
                heap[i] = key;
            }
        }
        Arrays.sort(heap, 0, size);
        int[] out = new int[size];
        for (int i = 0; i < size; i++) out[i] = Integer.MAX_VALUE - (int) heap[size - 1 - i];
        return out;
    }

    private static long key(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        int sortable = bits >= 0 ? bits : bits ^ 0x7FFFFFFF; // monotonic in the float's value
        return ((long) sortable << 32) | (Integer.MAX_VALUE - id);
    }

    private static double[] softmax(float[] logits, int[] order, int keep, float temperature) {
        double[] out = new double[keep];
        double max = logits[order[0]] / temperature, sum = 0;
        for (int i = 0; i < keep; i++) sum += out[i] = Math.exp(logits[order[i]] / temperature - max);
        for (int i = 0; i < keep; i++) out[i] /= sum;
        return out;
    }
}
