package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.ternion.engine.Model;
import io.ternion.engine.SamplerParams;
import io.ternion.engine.Session;
import io.ternion.gguf.TestData;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** llama-server's --context-shift: slots of 64 positions answer 150 tokens with it, and stop at the slot's end without it. */
class ContextShiftServerTest {
    private static final int PER_SLOT = 64;
    private static final String REQUEST = "{\"prompt\":\"Once upon a time\",\"max_tokens\":150,\"temperature\":0}";

    @Test
    void aLongAnswerShiftsTheSlot() throws Exception {
        try (ServerFixture f = new ServerFixture(2, PER_SLOT, ServerFixture.settings(), 1)) {
            int[] prompt = f.model.tokenizer().encode("Once upon a time");
            Session.Result alone;
            try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", ServerFixture.THREADS, PER_SLOT, 64))) {
                Session s = m.newSession();
                s.contextShift(1);
                alone = s.generate(prompt, 150, SamplerParams.GREEDY, (id, text) -> true);
            }
            assertTrue(alone.shiftedOut() > 0);
            HttpResponse<String> r = f.post("/v1/completions", REQUEST);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = ServerFixture.JSON.readTree(r.body());
            assertEquals(150, body.get("usage").get("completion_tokens").asInt());
            assertEquals(alone.text(), body.get("choices").get(0).get("text").asText());
        }
    }

    @Test
    void offByDefaultAFullSlotEndsTheAnswer() throws Exception {
        try (ServerFixture f = new ServerFixture(2, PER_SLOT, ServerFixture.settings())) {
            HttpResponse<String> r = f.post("/v1/completions", REQUEST);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = ServerFixture.JSON.readTree(r.body());
            assertTrue(body.get("usage").get("completion_tokens").asInt() < PER_SLOT, r.body());
            assertEquals("length", body.get("choices").get(0).get("finish_reason").asText());
        }
    }
}
