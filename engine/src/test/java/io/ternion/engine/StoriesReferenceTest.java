package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.gguf.TestData;
import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** llama2.c's own test: 200 greedy tokens from BOS reproduce its expected text exactly. */
class StoriesReferenceTest {

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu", "opencl"})
    void greedyTwoHundredTokensMatchLlama2c(String backend) throws IOException {
        if (backend.equals("opencl")) io.ternion.kernels.gpu.OpenClTestDevice.require();
        JsonNode expected = new ObjectMapper().readTree(TestData.require("models/stories260K.expected.json").toFile());
        int[] ids = new int[expected.get("greedy_token_ids_excluding_bos").size()];
        for (int i = 0; i < ids.length; i++) ids[i] = expected.get("greedy_token_ids_excluding_bos").get(i).asInt();
        assertEquals(200, ids.length);

        try (Model m = Model.load(TestData.bundledModel(), new Model.Options(backend, 2, 0, 512))) {
            Session s = m.newSession();
            StringBuilder streamed = new StringBuilder();
            Session.Result r = s.generate(new int[] {1}, 200, SamplerParams.GREEDY, (id, text) -> {
                streamed.append(text);
                return true;
            });
            assertArrayEquals(ids, r.tokens(), backend);
            assertEquals(expected.get("expected_text").asText(), r.text());
            assertEquals(r.text(), streamed.toString());
            assertEquals(Session.StopReason.MAX_TOKENS, r.stop());
        }
    }
}
