package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.TestData;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** --ignore-eos: the stop tokens are never picked, greedy or sampled, however much the model wants them. */
class IgnoreEosTest {
    @Test
    void stopTokensAreNeverPicked() throws IOException {
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, 64, 64))) {
            int eos = m.tokenizer().vocabulary().eos();
            assertTrue(eos >= 0 && m.isStopToken(eos), "stories260K has an end-of-text token");
            float[] logits = new float[m.config().vocabSize()];
            Arrays.fill(logits, -1f);
            logits[eos] = 50f;
            assertEquals(eos, new Sampler(SamplerParams.GREEDY).sample(logits.clone(), new int[1], 0), "unmasked, the model ends here");
            m.maskStopTokens(logits);
            assertNotEquals(eos, new Sampler(SamplerParams.GREEDY).sample(logits.clone(), new int[1], 0));
            SamplerParams hot = new SamplerParams(1.5f, 0, 1f, 0f, 1f, 64, 7, true);
            Sampler s = new Sampler(hot);
            for (int i = 0; i < 200; i++) assertTrue(!m.isStopToken(s.sample(logits.clone(), new int[1], 0)));
        }
    }
}
