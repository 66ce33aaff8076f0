package io.ternion.harness;

import java.util.ArrayList;
import java.util.List;

/**
 * How close a backend's logits are to the reference's over a sequence.
 *
 * @param nmse                 Σ(x − r)² ÷ Σr² over every logit of every position
 * @param maxAbsError          max |x − r|
 * @param top1AgreementPercent positions where both pick the same most likely token, in percent
 * @param klMean               mean over positions of KL(P_ref ‖ P_backend), in nats
 * @param klMax                the largest of those
 * @param klPerPosition        each position's KL, in sequence order
 */
public record Agreement(double nmse, double maxAbsError, double top1AgreementPercent, double klMean, double klMax,
                        List<Double> klPerPosition) {

    /** Adds positions one at a time, so only the reference's logits need keeping. */
    static final class Accumulator {
        private double sqErr, sqRef, maxAbs, klSum, klMax;
        private int agree;
        private final List<Double> kl = new ArrayList<>();

        void add(float[] ref, float[] x) {
            double lseR = logSumExp(ref), lseX = logSumExp(x), k = 0;
            for (int v = 0; v < ref.length; v++) {
                double d = (double) x[v] - ref[v];
                sqErr += d * d;
                sqRef += (double) ref[v] * ref[v];
                maxAbs = Math.max(maxAbs, Math.abs(d));
                double lr = ref[v] - lseR;
                k += Math.exp(lr) * (lr - (x[v] - lseX));
            }
            k = Math.max(0, k); // rounding can leave −1e−17 where the distributions are equal
            kl.add(k);
            klSum += k;
            klMax = Math.max(klMax, k);
            if (argmax(ref) == argmax(x)) agree++;
        }

        Agreement finish() {
            int n = kl.size();
            return new Agreement(sqRef == 0 ? 0 : sqErr / sqRef, maxAbs, 100.0 * agree / n, klSum / n, klMax, List.copyOf(kl));
        }
    }

    static double logSumExp(float[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : x) max = Math.max(max, v);
        double s = 0;
        for (float v : x) s += Math.exp(v - max);
        return max + Math.log(s);
    }

    /** −log P(next) under the logits {@code x}. */
    static double nll(float[] x, int next) {
        return logSumExp(x) - x[next];
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
