package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.TestData;
import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A prompt evaluated as one batch gives the logits that token-by-token evaluation gives. */
class BatchConsistencyTest {
    /**
     * The batched kernels (matrix-matrix, batched attention) sum in other orders than the
     * single-token ones; in float32, with logits up to about 15, that moves logits by a few 1e-4
     * (2.9e-4 measured on the cpu backend). A real bug moves them by whole units.
     */
    static final float TOLERANCE = 1e-3f;

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void batchAndStepwiseAgree(String backend) throws IOException {
        int[] prompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315};
        float[] batched, stepwise;
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options(backend, 2, 64, 64))) {
            batched = new float[m.config().vocabSize()];
            m.compiled().forward(prompt, 0, batched);
        }
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options(backend, 2, 64, 1))) {
            stepwise = new float[m.config().vocabSize()];
            for (int i = 0; i < prompt.length; i++) m.compiled().forward(new int[] {prompt[i]}, i, stepwise);
        }
        float max = 0;
        for (int i = 0; i < batched.length; i++) max = Math.max(max, Math.abs(batched[i] - stepwise[i]));
        assertTrue(max <= TOLERANCE, backend + ": max |batched - stepwise| = " + max);
    }
}
