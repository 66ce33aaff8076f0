package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static float[] randomLogits(long seed, int n) {
        Random r = new Random(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * 3);
        return l;
    }

    @Test
    void greedyTakesTheArgmaxAndTheLowestIdOnTies() {
        Sampler s = new Sampler(SamplerParams.GREEDY);
        assertEquals(2, s.sample(new float[] {1, 3, 5, 5, -1}, new int[0], 0));
    }

    @Test
    void seededRunsRepeat() {
        SamplerParams p = new SamplerParams(1.0f, 0, 1.0f, 0f, 1.1f, 16, 1234);
        int[] a = draw(p, 200), b = draw(p, 200);
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, draw(new SamplerParams(1.0f, 0, 1.0f, 0f, 1.1f, 16, 99), 200)));
    }

    private static int[] draw(SamplerParams p, int n) {
        Sampler s = new Sampler(p);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = s.sample(randomLogits(i, 100), out, i);
        return out;
    }

    @Test
    void topKNeverReturnsATokenOutsideTheKBest() {
        float[] base = randomLogits(5, 1000);
        int[] order = Sampler.top(base, 1000);
        Set<Integer> best = new HashSet<>();
        for (int i = 0; i < 5; i++) best.add(order[i]);
        Sampler s = new Sampler(new SamplerParams(2.0f, 5, 1.0f, 0f, 1.0f, 0, 1));
        for (int i = 0; i < 2000; i++) assertTrue(best.contains(s.sample(base.clone(), new int[0], 0)));
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // softmax of these is about 0.64, 0.24, 0.09, 0.03: top-p 0.8 keeps the first two
        float[] logits = {3, 2, 1, 0};
        Sampler s = new Sampler(new SamplerParams(1.0f, 0, 0.8f, 0f, 1.0f, 0, 3));
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 3000; i++) seen.add(s.sample(logits.clone(), new int[0], 0));
        assertEquals(Set.of(0, 1), seen);
    }

    @Test
    void minPDropsTokensLessLikelyThanMinPTimesTheBest() {
        // p(i)/p(0) = e^-(3-l_i): 0.37, 0.14, 0.05 -> min-p 0.1 keeps ids 0, 1, 2
        float[] logits = {3, 2, 1, 0};
        Sampler s = new Sampler(new SamplerParams(1.0f, 0, 1.0f, 0.1f, 1.0f, 0, 4));
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 3000; i++) seen.add(s.sample(logits.clone(), new int[0], 0));
        assertEquals(Set.of(0, 1, 2), seen);
    }

    @Test
    void repeatPenaltyLowersRecentTokens() {
        float[] logits = {2.0f, 1.9f, -1f};
        Sampler s = new Sampler(new SamplerParams(0f, 0, 1f, 0f, 2.0f, 4, 1));
        assertEquals(1, s.sample(logits, new int[] {0}, 1), "2.0/2 < 1.9");
        assertEquals(1.0f, logits[0]);
        float[] neg = {-0.5f, -0.6f};
        new Sampler(new SamplerParams(0f, 0, 1f, 0f, 2.0f, 4, 1)).sample(neg, new int[] {0, 0}, 2);
        assertEquals(-1.0f, neg[0], "negative logits are multiplied, once per distinct token");
    }

    @Test
    void topSelectsInOrderWithTies() {
        assertArrayEquals(new int[] {3, 1, 2}, Sampler.top(new float[] {0, 5, 5, 9, -2}, 3));
        assertArrayEquals(new int[] {1, 0}, Sampler.top(new float[] {-1e-30f, 0.0f}, 2), "tiny negatives rank below zero");
    }

    @Test
    void presenceAndFrequencyPenaltiesSubtractAsLlamaCppDoes() {
        float[] logits = {5.0f, 4.5f, 4.2f, 1f};
        int[] history = {0, 0, 1};
        // token 0 seen twice: 5 - 2*0.5 - 0.4 = 3.6; token 1 once: 4.5 - 0.5 - 0.4 = 3.6; token 2 unseen: 4.2 wins
        SamplerParams p = new SamplerParams(0f, 40, 1f, 0f, 1f, 64, 1, false, 0.4f, 0.5f);
        assertTrue(p.penalizes());
        assertEquals(2, new Sampler(p).sample(logits.clone(), history, history.length));
        // the window is repeatLastN: with 1, only token 1 is penalized and token 0 wins
        SamplerParams last1 = new SamplerParams(0f, 40, 1f, 0f, 1f, 1, 1, false, 0.4f, 0.5f);
        assertEquals(0, new Sampler(last1).sample(logits.clone(), history, history.length));
        assertFalse(SamplerParams.GREEDY.penalizes());
    }
}
