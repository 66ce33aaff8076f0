package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.chat.Message;
import io.ternion.gguf.TestData;
import io.ternion.graph.CompiledModel;
import io.ternion.graph.Log;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * llama.cpp's context shift on stories260K: a shifted cache continues as the reference backend's
 * does, generation goes on past the context (and stops there without the shift), a scheduler's
 * slot shifts without disturbing its neighbour, and a chat drops whole old turns but keeps its
 * system prompt. The kernels' re-rotation itself is in the conformance table's kv_shift rows.
 */
class ContextShiftTest {
    private static final int CTX = 64;

    /** llama2.c's 200 greedy ids after BOS. */
    private static int[] expectedIds() throws IOException {
        JsonNode expected = new ObjectMapper().readTree(TestData.require("models/stories260K.expected.json").toFile());
        JsonNode ids = expected.get("greedy_token_ids_excluding_bos");
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) out[i] = ids.get(i).asInt();
        return out;
    }

    private static void requireBackend(String backend) {
        if (backend.equals("opencl")) io.ternion.kernels.gpu.OpenClTestDevice.require();
    }

    /** Logits of the token after 40 of llama2.c's, with the positions [1, 21) shifted out first (keep BOS, drop 20). */
    private static float[] logitsAfterShift(String backend, boolean shift) throws IOException {
        int[] ids = expectedIds();
        int[] prompt = new int[40];
        prompt[0] = 1;
        System.arraycopy(ids, 0, prompt, 1, 39);
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options(backend, 2, CTX, 64))) {
            CompiledModel cm = m.compiled();
            float[] logits = new float[m.config().vocabSize()];
            cm.forward(prompt, 0, logits);
            if (!shift) {
                cm.forward(new int[] {ids[39]}, 40, logits);
                return logits;
            }
            cm.shift(0, 1, 20, 40);
            cm.forward(new int[] {ids[39]}, 20, logits);
            return logits;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "opencl"})
    void shiftedCacheContinuesAsTheReferences(String backend) throws IOException {
        requireBackend(backend);
        float[] want = logitsAfterShift("reference", true), got = logitsAfterShift(backend, true);
        float[] unshifted = logitsAfterShift("reference", false);
        double worst = 0, moved = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
            moved = Math.max(moved, Math.abs(want[i] - unshifted[i]));
        }
        assertEquals(CompiledModel.argmax(want), CompiledModel.argmax(got), backend);
        assertTrue(worst < 0.05, backend + ": logits differ from the reference's by " + worst);
        assertTrue(moved > 20 * worst, "the shift changes the logits (by " + moved + "), far more than the backends differ (" + worst + ")");
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu", "opencl"})
    void generationGoesOnPastTheContext(String backend) throws IOException {
        requireBackend(backend);
        int[] ids = expectedIds();
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options(backend, 2, CTX, 64))) {
            Session off = m.newSession();
            Session.Result full = off.generate(new int[] {1}, 200, SamplerParams.GREEDY, (id, t) -> true);
            assertEquals(Session.StopReason.CONTEXT_FULL, full.stop());
            assertEquals(CTX, full.tokens().length, "BOS and 63 evaluated, the 64th sampled, then the context is full");

            Session s = m.newSession();
            s.contextShift(1);
            Session.Result r = s.generate(new int[] {1}, 200, SamplerParams.GREEDY, (id, t) -> true);
            assertEquals(Session.StopReason.MAX_TOKENS, r.stop());
            assertEquals(200, r.tokens().length);
            assertArrayEquals(Arrays.copyOf(ids, CTX), Arrays.copyOf(r.tokens(), CTX), "llama2.c's ids up to the first shift");
            // Each shift at 64 positions drops half of the 63 after BOS: 31.
            assertEquals(31 * ((200 - CTX) / 32 + 1), r.shiftedOut());
            int[] cached = s.cachedTokens();
            assertEquals(1, cached[0], "BOS is kept");
            assertEquals(1 + 200 - r.shiftedOut(), cached.length, "BOS and the generated tokens no shift dropped");
            assertArrayEquals(Arrays.copyOfRange(r.tokens(), 200 - (cached.length - 1), 200), Arrays.copyOfRange(cached, 1, cached.length));
            if (!backend.equals("reference")) {
                try (Model ref = Model.load(TestData.bundledModel(), new Model.Options("reference", 1, CTX, 64))) {
                    Session rs = ref.newSession();
                    rs.contextShift(1);
                    assertArrayEquals(rs.generate(new int[] {1}, 200, SamplerParams.GREEDY, (id, t) -> true).tokens(), r.tokens(),
                            "the reference backend's ids through the same shifts");
                }
            }
        }
    }

    /** A sequence shifting in its slot gives what it gives alone in a session, and its neighbour's output is untouched. */
    @Test
    void schedulerShiftsOneSlotAndLeavesTheOther() throws Exception {
        int[] other = {1, 403, 407, 261, 113, 10, 263, 350};
        Session.Result aloneLong, aloneShort;
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 2, CTX, 64))) {
            Session s = m.newSession();
            s.contextShift(1);
            aloneLong = s.generate(new int[] {1}, 150, SamplerParams.GREEDY, (id, t) -> true);
            aloneShort = m.newSession().generate(other, 40, SamplerParams.GREEDY, (id, t) -> true);
        }
        assertTrue(aloneLong.shiftedOut() > 0);
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 2, 2 * CTX, 64).withParallel(2));
             Scheduler sch = new Scheduler(m, 4)) {
            sch.contextShift(1);
            Scheduler.Sequence a = sch.submit(new Scheduler.Request(new int[] {1}, 150, SamplerParams.GREEDY, (id, t) -> true));
            Scheduler.Sequence b = sch.submit(new Scheduler.Request(other, 40, SamplerParams.GREEDY, (id, t) -> true));
            sch.runUntilIdle();
            Session.Result ra = a.await(), rb = b.await();
            assertEquals(Session.StopReason.MAX_TOKENS, ra.stop());
            assertArrayEquals(aloneLong.tokens(), ra.tokens());
            assertEquals(aloneLong.shiftedOut(), ra.shiftedOut());
            assertArrayEquals(aloneShort.tokens(), rb.tokens());

            sch.contextShift(-1);
            Scheduler.Sequence c = sch.submit(new Scheduler.Request(new int[] {1}, 150, SamplerParams.GREEDY, (id, t) -> true));
            sch.runUntilIdle();
            assertEquals(Session.StopReason.CONTEXT_FULL, c.await().stop(), "off: a full slot ends the sequence");
        }
    }

    /** Turns that no longer fit go whole, oldest first; the system prompt and the new turn stay, and the session keeps the system prompt. */
    @Test
    void chatDropsTheOldestTurnsAndKeepsTheSystemPrompt() throws IOException {
        List<String> log = new ArrayList<>();
        Log.setSink(log::add);
        try (Model m = Model.load(TestData.bundledModel(), new Model.Options("cpu", 2, CTX, 64))) {
            ChatFormat format = ChatFormat.forModel(m.file().metadata(), m.config().architecture(), m.tokenizer());
            log.clear();
            Session s = m.newSession();
            List<Message> turns = new ArrayList<>(List.of(Message.system("Tell a story about a cat."),
                    Message.user("Once upon a time there was a cat."), Message.assistant("The cat was happy and played in the park all day."),
                    Message.user("What did the cat see?"), Message.assistant("The cat saw a big red ball and ran to it."),
                    Message.user("And then?")));
            int[] whole = format.encode(turns);
            assertTrue(whole.length >= CTX, "the conversation must not fit: " + whole.length);

            List<Message> refused = new ArrayList<>(turns);
            assertArrayEquals(whole, ChatContext.fit(s, format, refused, false));
            assertEquals(turns, refused, "without the shift nothing is dropped");
            assertThrows(ModelException.class, () -> s.checkPrompt(whole));

            int[] tokens = ChatContext.fit(s, format, turns, true);
            assertTrue(tokens.length < CTX, "fits: " + tokens.length);
            // Down to the system prompt and half of the rest at most, as llama.cpp's shift: both earlier turns go, whole.
            assertEquals(List.of(Message.system("Tell a story about a cat."), Message.user("And then?")), turns);
            assertArrayEquals(format.encode(turns), tokens);
            assertEquals(1, log.size(), log.toString());
            assertEquals("ternion: context full: dropped the oldest " + (whole.length - tokens.length) + " tokens (2 turns)", log.getFirst());

            // The answer fills the context: the shift keeps the system prompt's tokens.
            // The system prompt: what the conversation shares with others that differ from the first user turn on.
            int systemTokens = tokens.length;
            for (String user : new String[] {"#", "Once upon a time there was a cat."}) {
                int[] other = format.encode(List.of(Message.system("Tell a story about a cat."), Message.user(user)));
                int shared = 0;
                while (other[shared] == tokens[shared]) shared++;
                systemTokens = Math.min(systemTokens, shared);
            }
            Session.Result r = s.generate(tokens, 120, SamplerParams.GREEDY, (id, t) -> true);
            assertEquals(Session.StopReason.MAX_TOKENS, r.stop());
            assertTrue(r.shiftedOut() > 0);
            int[] cached = s.cachedTokens();
            assertTrue(systemTokens > 5, "the system prompt is more than BOS: " + systemTokens);
            assertArrayEquals(Arrays.copyOf(tokens, systemTokens), Arrays.copyOf(cached, systemTokens), "the system prompt stays in the cache");
        } finally {
            Log.setSink(null);
        }
    }
}
