package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import io.ternion.gguf.GgmlType;
import io.ternion.graph.Batch;
import io.ternion.graph.CompiledModel;
import io.ternion.synth.Preset;
import io.ternion.synth.Synth;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Synthetic models of every architecture and weight type, three fixed token sequences fed
 * together, one token of each per step (their first steps a prompt chunk of one beside single
 * tokens of the others): at each position the top token agrees with the sequence fed alone in at
 * least 99% of positions, and the logits stay close. (The peer cases' greedy ids are checked
 * exactly in {@link SchedulerTest}.)
 */
class BatchedTeacherForcingTest {
    private static final int SEQUENCES = 3, LENGTH = 48, PROMPT = 8;

    @TempDir
    static Path dir;

    @ParameterizedTest(name = "{0} {1} on {2}")
    @CsvSource({"tiny-bitnet-b1.58, I2_S, cpu", "tiny-bitnet, TQ1_0, cpu", "tiny-bitnet, TQ2_0, cpu", "tiny-llama, TQ2_0, cpu",
            "tiny-qwen3, Q1_0, cpu", "tiny-llama, I2_S, reference", "tiny-bitnet-b1.58, I2_S, opencl", "tiny-qwen3, Q1_0, opencl",
            "tiny-llama, TQ2_0, opencl"})
    void everySequenceOfABatchAgreesWithItselfAlone(String preset, GgmlType type, String backend) throws IOException {
        if (backend.equals("opencl")) io.ternion.kernels.gpu.OpenClTestDevice.require();
        Path f = dir.resolve(preset + "-" + type + ".gguf");
        if (!f.toFile().exists()) Synth.write(Preset.ALL.get(preset), type, 3, null, f);
        int[][] tokens = new int[SEQUENCES][LENGTH];
        float[][][] alone = new float[SEQUENCES][][];
        try (Model m = Model.load(f, new Model.Options(backend, 2, LENGTH, LENGTH))) {
            SplittableRandom rnd = new SplittableRandom(11);
            for (int s = 0; s < SEQUENCES; s++) {
                tokens[s] = rnd.ints(LENGTH, 0, m.tokenizer().vocabulary().size()).toArray();
                alone[s] = TeacherForcing.logits(m, tokens[s], 1);
            }
        }
        try (Model m = Model.load(f, new Model.Options(backend, 2, SEQUENCES * LENGTH, 16).withParallel(SEQUENCES))) {
            CompiledModel cm = m.compiled();
            int vocab = m.config().vocabSize(), agree = 0, total = 0;
            float[] logits = new float[SEQUENCES * vocab];
            double worst = 0;
            // Step 0: sequence 0 reads PROMPT tokens at once (logits of the last only), the others one token.
            Batch first = batch(tokens, 0, PROMPT);
            cm.forward(first, logits);
            int[] next = {PROMPT, 1, 1};
            for (int j = 0; j < SEQUENCES; j++) {
                int s = j, pos = next[s] - 1;
                worst = Math.max(worst, maxDiff(logits, j * vocab, alone[s][pos]));
                agree += top(logits, j * vocab, vocab) == CompiledModel.argmax(alone[s][pos]) ? 1 : 0;
                total++;
            }
            while (next[1] < LENGTH) {
                int rows = 0;
                for (int s = 0; s < SEQUENCES; s++) if (next[s] < LENGTH) rows++;
                int[] ids = new int[rows], positions = new int[rows], slots = new int[rows];
                boolean[] all = new boolean[rows];
                int r = 0;
                for (int s = 0; s < SEQUENCES; s++) {
                    if (next[s] >= LENGTH) continue;
                    ids[r] = tokens[s][next[s]];
                    positions[r] = next[s];
                    slots[r] = s;
                    all[r++] = true;
                }
                cm.forward(new Batch(ids, positions, slots, all), logits);
                for (int j = 0; j < rows; j++) {
                    int s = slots[j], pos = positions[j];
                    worst = Math.max(worst, maxDiff(logits, j * vocab, alone[s][pos]));
                    agree += top(logits, j * vocab, vocab) == CompiledModel.argmax(alone[s][pos]) ? 1 : 0;
                    total++;
                    next[s]++;
                }
            }
            assertEquals(SEQUENCES * LENGTH - (PROMPT - 1), total, "every position of every sequence was compared");
            assertTrue(agree >= 0.99 * total, preset + " " + type + " on " + backend + ": top-1 agrees at " + agree + " of " + total);
            assertTrue(worst < 0.05, preset + " " + type + " on " + backend + ": largest logit difference " + worst);
        }
    }

    /** Slot 0: positions 0..prompt−1, its last row's logits; slots 1 and 2: position 0. */
    private static Batch batch(int[][] tokens, int slot0From, int prompt) {
        int n = prompt + SEQUENCES - 1;
        int[] ids = new int[n], positions = new int[n], slots = new int[n];
        boolean[] outputs = new boolean[n];
        for (int i = 0; i < prompt; i++) {
            ids[i] = tokens[0][slot0From + i];
            positions[i] = slot0From + i;
        }
        outputs[prompt - 1] = true;
        for (int s = 1; s < SEQUENCES; s++) {
            ids[prompt + s - 1] = tokens[s][0];
            slots[prompt + s - 1] = s;
            outputs[prompt + s - 1] = true;
        }
        return new Batch(ids, positions, slots, outputs);
    }

    private static int top(float[] logits, int from, int vocab) {
        return CompiledModel.argmax(logits, from, vocab);
    }

    private static double maxDiff(float[] logits, int from, float[] want) {
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(logits[from + i] - want[i]));
        return worst;
    }
}
