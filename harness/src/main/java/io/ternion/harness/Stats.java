package io.ternion.harness;

import java.util.List;

/** Mean and sample standard deviation (n − 1, as llama-bench reports; 0 for one sample). */
record Stats(double mean, double stddev) {
    static Stats of(List<Double> samples) {
        double mean = 0;
        for (double x : samples) mean += x;
        mean /= samples.size();
        double ss = 0;
        for (double x : samples) ss += (x - mean) * (x - mean);
        return new Stats(mean, samples.size() > 1 ? Math.sqrt(ss / (samples.size() - 1)) : 0);
    }
}
