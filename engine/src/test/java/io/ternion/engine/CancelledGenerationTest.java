package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.TestData;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Chat's Ctrl-C reaches a generation through a cancel flag: looked at between prompt chunks (so a
 * long prompt stops early) and after each token; what was evaluated stays cached and valid.
 */
class CancelledGenerationTest {
    private static final String STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park";

    @Test
    void aCancelWhileThePromptIsReadStopsBetweenChunksAndKeepsWhatWasRead() throws IOException {
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, 128, 4))) {
            int[] prompt = m.tokenizer().encode(STORY);
            assertTrue(prompt.length > 16, "a prompt of several chunks: " + prompt.length);
            int[] alone = m.newSession().generate(prompt, 8, SamplerParams.GREEDY, (id, text) -> true).tokens();

            Session s = m.newSession();
            AtomicInteger evaluated = new AtomicInteger(), lastDone = new AtomicInteger(-1), lastTotal = new AtomicInteger(-2);
            s.onPromptProgress((done, total) -> {
                evaluated.set(done);
                lastDone.set(done);
                lastTotal.set(total);
            });
            Session.Result r = s.generate(prompt, 8, SamplerParams.GREEDY, (id, text) -> true, () -> evaluated.get() >= 8);
            assertEquals(Session.StopReason.CANCELLED, r.stop());
            assertEquals(0, r.tokens().length, "no token before the prompt is read");
            assertEquals(8, r.evaluatedPromptTokens(), "stopped at the first look after the flag went up (chunks of 4)");
            assertEquals(8, s.position(), "the evaluated part stays cached");
            assertEquals(lastTotal.get(), lastDone.get(), "the last progress call closes the prompt (a bar is wiped)");

            Session.Result again = s.generate(prompt, 8, SamplerParams.GREEDY, (id, text) -> true, () -> false);
            assertEquals(prompt.length - 8, again.evaluatedPromptTokens(), "the next call goes on from the cached part");
            assertArrayEquals(alone, again.tokens(), "and the cached part was right: same greedy reply as a fresh session");
        }
    }

    @Test
    void aCancelDuringTheReplyStopsAfterTheCurrentToken() throws IOException {
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, 128, 4))) {
            int[] prompt = m.tokenizer().encode("Once upon a time");
            AtomicInteger tokens = new AtomicInteger();
            Session.Result r = m.newSession().generate(prompt, 20, SamplerParams.GREEDY, (id, text) -> tokens.incrementAndGet() > 0,
                    () -> tokens.get() >= 3);
            assertEquals(Session.StopReason.CANCELLED, r.stop());
            assertEquals(3, r.tokens().length);
        }
    }
}
