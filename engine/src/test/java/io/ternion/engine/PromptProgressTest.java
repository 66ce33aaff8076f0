package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.gguf.TestData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Session reports a prompt's evaluation batch by batch, counting only what is not cached. */
class PromptProgressTest {
    /** The calls for {@code total} tokens in batches of 4: 0 first, then after each batch. */
    private static List<String> expected(int total) {
        List<String> calls = new ArrayList<>(List.of("0/" + total));
        for (int done = 4; ; done += 4) {
            calls.add(Math.min(done, total) + "/" + total);
            if (done >= total) return calls;
        }
    }

    @Test
    void eachBatchIsReportedAndTheCachedPrefixIsNotCounted() throws IOException {
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, 64, 4))) {
            Session s = m.newSession();
            List<String> calls = new ArrayList<>();
            s.onPromptProgress((done, total) -> calls.add(done + "/" + total));
            int[] prompt = m.tokenizer().encode("Once upon a time, there was a girl");
            assertTrue(prompt.length > 8, Arrays.toString(prompt));
            s.generate(prompt, 0, SamplerParams.GREEDY, (id, text) -> true); // the cache then holds the prompt alone
            assertEquals(expected(prompt.length), calls);

            calls.clear();
            int[] longer = m.tokenizer().encode("Once upon a time, there was a girl named Lily. She");
            s.generate(longer, 1, SamplerParams.GREEDY, (id, text) -> true);
            assertEquals(expected(longer.length - prompt.length), calls, "the cached tokens are not evaluated again");
        }
    }
}
