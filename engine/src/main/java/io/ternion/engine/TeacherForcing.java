package io.ternion.engine;

import io.ternion.graph.CompiledModel;
import java.util.Arrays;

/** Logits at every position of a fixed token sequence (for comparing backends). */
public final class TeacherForcing {
    private TeacherForcing() {}

    /**
     * Row i holds the logits after {@code tokens[0..i]}, evaluated {@code step} tokens per forward
     * call (1: the decode path; larger: the prompt path, one position's logits per call).
     */
    public static float[][] logits(Model m, int[] tokens, int step) {
        CompiledModel cm = m.compiled();
        float[][] out = new float[tokens.length][m.config().vocabSize()];
        // A batch returns only its last position's logits, so row i is the end of a batch that starts
        // at the last multiple of step (re-evaluating the positions before it writes the same K/V again).
        for (int i = 0; i < tokens.length; i++) {
            int start = (i / step) * step;
            cm.forward(Arrays.copyOfRange(tokens, start, i + 1), start, out[i]);
        }
        return out;
    }
}
