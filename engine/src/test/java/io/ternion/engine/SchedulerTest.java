package io.ternion.engine;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.gguf.TestData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Many sequences through one {@link Scheduler}: each gives what it gives alone. The peer cases'
 * greedy ids (their margins are at least 5 logits) hold for every sequence of a batch on every
 * backend; on stories260K, sequences that start late, are cancelled, wait for a slot, reuse a
 * cached prefix or fill their slot's context leave the others' output as it is alone, greedy and
 * sampled with a seed.
 */
class SchedulerTest {
    private static final String[] PEER_CASES = {"public-bitnet-tq2_0", "public-bitnet-tq1_0", "public-bitnet158-i2_s",
            "public-qwen3-q1_0", "public-qwen3-q2_0", "public-llama-tq2_0"};

    static Stream<Arguments> peerCases() {
        List<Arguments> out = new ArrayList<>();
        for (String backend : new String[] {"reference", "cpu", "opencl"}) {
            for (String c : PEER_CASES) out.add(Arguments.of(c, backend));
        }
        return out.stream();
    }

    /** Every run of the case twice over, four at once in four slots, then the rest as slots free up: each gives the peer's greedy ids. */
    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("peerCases")
    void batchedSequencesGiveThePeersGreedyIds(String name, String backend) throws Exception {
        if (backend.equals("opencl")) io.ternion.kernels.gpu.OpenClTestDevice.require();
        JsonNode json = new ObjectMapper().readTree(TestData.require("peer-cases/cases/" + name + ".expected.json").toFile());
        try (Model m = Model.load(TestData.require("peer-cases/models/" + name + ".gguf"), new Model.Options(backend, 2, 4 * 128, 64).withParallel(4));
             Scheduler s = new Scheduler(m, 2)) {
            Map<Scheduler.Sequence, int[]> expected = new LinkedHashMap<>();
            for (int copy = 0; copy < 3; copy++) {
                for (JsonNode run : json.get("runs")) {
                    int[] want = PeerCasesTest.ints(run.get("generated_token_ids"));
                    // Copies end early by different amounts, so sequences finish at different steps.
                    int n = want.length - 5 * copy;
                    int[] prompt = m.tokenizer().encode(run.get("prompt").asText());
                    expected.put(s.submit(new Scheduler.Request(prompt, n, SamplerParams.GREEDY, (id, t) -> true)), java.util.Arrays.copyOf(want, n));
                }
            }
            s.runUntilIdle();
            int i = 0;
            for (var e : expected.entrySet()) {
                Session.Result r = e.getKey().await();
                assertArrayEquals(e.getValue(), r.tokens(), name + " on " + backend + ", sequence " + i++);
                assertEquals(Session.StopReason.MAX_TOKENS, r.stop());
            }
        }
    }

    private static Model stories(int parallel, int perSlot) throws IOException {
        return Model.load(TestData.bundledModel(), new Model.Options("cpu", 2, parallel * perSlot, 64).withParallel(parallel));
    }

    private static final String[] PROMPTS = {"Once upon a time", "The little dog", "Lily and Tom went to the park. They saw a big",
            "One day", "Sam had a red ball", "Once upon a time, there was a girl"};

    /** What a prompt gives alone: a one-sequence model with the same context per sequence. */
    private static Session.Result alone(String prompt, int n, SamplerParams p, int perSlot) throws IOException {
        try (Model m = stories(1, perSlot)) {
            return m.newSession().generate(m.tokenizer().encode(prompt), n, p, (id, t) -> true);
        }
    }

    @ParameterizedTest(name = "sampled: {0}")
    @ValueSource(booleans = {false, true})
    void lateStartsCancellationSlotReuseAndAFullContextDisturbNoOne(boolean sampled) throws Exception {
        int perSlot = 96;
        SamplerParams[] params = new SamplerParams[PROMPTS.length];
        for (int i = 0; i < params.length; i++) {
            params[i] = sampled ? new SamplerParams(0.9f, 40, 0.95f, 0.05f, 1.1f, 64, 1000 + i) : SamplerParams.GREEDY;
        }
        int[] lengths = {40, 25, -1, 60, 30, 20}; // -1: until the slot's context is full
        try (Model m = stories(3, perSlot); Scheduler s = new Scheduler(m, 8)) {
            List<Scheduler.Sequence> seqs = new ArrayList<>();
            AtomicInteger cancelledTokens = new AtomicInteger();
            seqs.add(submit(m, s, PROMPTS[0], lengths[0], params[0]));
            seqs.add(submit(m, s, PROMPTS[1], lengths[1], params[1]));
            for (int i = 0; i < 3; i++) s.step();
            seqs.add(submit(m, s, PROMPTS[2], lengths[2], params[2])); // a late start, into the last free slot
            Scheduler.Sequence doomed = s.submit(new Scheduler.Request(m.tokenizer().encode("A cat sat"), 50, params[0],
                    (id, t) -> cancelledTokens.incrementAndGet() > 0)); // waits: every slot is busy
            for (int i = 3; i < PROMPTS.length; i++) seqs.add(submit(m, s, PROMPTS[i], lengths[i], params[i])); // wait for slots
            for (int i = 0; i < 5; i++) s.step();
            assertEquals(0, cancelledTokens.get(), "the fourth sequence waits while three fill the slots");
            doomed.cancel();
            s.runUntilIdle();

            Session.Result cancelled = doomed.await();
            assertEquals(Session.StopReason.CANCELLED, cancelled.stop());
            assertEquals(0, cancelled.tokens().length);
            for (int i = 0; i < PROMPTS.length; i++) {
                Session.Result got = seqs.get(i).await(), want = alone(PROMPTS[i], lengths[i], params[i], perSlot);
                assertArrayEquals(want.tokens(), got.tokens(), "sequence " + i + " '" + PROMPTS[i] + "'");
                assertEquals(want.text(), got.text());
                assertEquals(want.stop(), got.stop(), "sequence " + i);
            }
            assertEquals(Session.StopReason.CONTEXT_FULL, seqs.get(2).await().stop(), "the open-ended sequence fills its slot");
        }
    }

    private static Scheduler.Sequence submit(Model m, Scheduler s, String prompt, int n, SamplerParams p) {
        return s.submit(new Scheduler.Request(m.tokenizer().encode(prompt), n, p, (id, t) -> true));
    }

    @Test
    void aSlotKeepsItsPrefixForTheNextPromptThatSharesIt() throws Exception {
        try (Model m = stories(2, 128); Scheduler s = new Scheduler(m)) {
            String first = PROMPTS[5], second = PROMPTS[5] + " who loved to sing";
            Scheduler.Sequence a = submit(m, s, first, 10, SamplerParams.GREEDY);
            Scheduler.Sequence other = submit(m, s, PROMPTS[1], 10, SamplerParams.GREEDY);
            s.runUntilIdle();
            assertEquals(m.tokenizer().encode(first).length, a.await().evaluatedPromptTokens());
            Scheduler.Sequence b = submit(m, s, second, 12, SamplerParams.GREEDY);
            s.runUntilIdle();
            int shared = m.tokenizer().encode(first).length;
            Session.Result r = b.await();
            assertEquals(m.tokenizer().encode(second).length - shared, r.evaluatedPromptTokens(),
                    "the slot that read '" + first + "' reads only what follows it");
            assertArrayEquals(alone(second, 12, SamplerParams.GREEDY, 128).tokens(), r.tokens());
            assertArrayEquals(alone(PROMPTS[1], 10, SamplerParams.GREEDY, 128).tokens(), other.await().tokens());
        }
    }

    @Test
    void aStoppingListenerEndsOnlyItsSequence() throws Exception {
        try (Model m = stories(2, 64); Scheduler s = new Scheduler(m)) {
            AtomicInteger heard = new AtomicInteger();
            Scheduler.Sequence stopper = s.submit(new Scheduler.Request(m.tokenizer().encode(PROMPTS[0]), 30, SamplerParams.GREEDY,
                    (id, t) -> heard.incrementAndGet() < 4));
            Scheduler.Sequence other = submit(m, s, PROMPTS[1], 30, SamplerParams.GREEDY);
            s.runUntilIdle();
            assertEquals(Session.StopReason.LISTENER, stopper.await().stop());
            assertEquals(4, stopper.await().tokens().length);
            assertArrayEquals(alone(PROMPTS[1], 30, SamplerParams.GREEDY, 64).tokens(), other.await().tokens());
        }
    }

    @Test
    void aFailingListenerFailsOnlyItsSequence() throws Exception {
        try (Model m = stories(2, 64); Scheduler s = new Scheduler(m)) {
            Scheduler.Sequence bad = s.submit(new Scheduler.Request(m.tokenizer().encode(PROMPTS[0]), 30, SamplerParams.GREEDY, (id, t) -> {
                throw new IllegalStateException("the client went away");
            }));
            Scheduler.Sequence other = submit(m, s, PROMPTS[1], 20, SamplerParams.GREEDY);
            s.runUntilIdle();
            IllegalStateException e = assertThrows(IllegalStateException.class, bad::await);
            assertEquals("the client went away", e.getMessage());
            assertArrayEquals(alone(PROMPTS[1], 20, SamplerParams.GREEDY, 64).tokens(), other.await().tokens());
        }
    }

    @Test
    void itsOwnThreadServesSequencesSubmittedFromOthers() throws Exception {
        try (Model m = stories(4, 64); Scheduler s = new Scheduler(m)) {
            s.start();
            List<Scheduler.Sequence> seqs = new ArrayList<>();
            for (int i = 0; i < 4; i++) seqs.add(submit(m, s, PROMPTS[i], 16, SamplerParams.GREEDY));
            for (int i = 0; i < 4; i++) assertArrayEquals(alone(PROMPTS[i], 16, SamplerParams.GREEDY, 64).tokens(), seqs.get(i).await().tokens());
        }
    }

    @Test
    void badPromptsAreRefusedAtSubmission() throws Exception {
        try (Model m = stories(2, 32); Scheduler s = new Scheduler(m)) {
            assertThrows(ModelException.class, () -> s.submit(new Scheduler.Request(new int[0], 4, SamplerParams.GREEDY, (id, t) -> true)));
            assertThrows(ModelException.class, () -> s.submit(new Scheduler.Request(new int[] {1, 99999}, 4, SamplerParams.GREEDY, (id, t) -> true)));
            ModelException e = assertThrows(ModelException.class, () -> s.submit(new Scheduler.Request(new int[32], 4, SamplerParams.GREEDY, (id, t) -> true)));
            assertTrue(e.getMessage().contains("context holds 32"), e.getMessage());
            assertEquals(32, m.contextLength(), "-c 64 with --parallel 2: 32 positions each");
        }
    }

    @Test
    void parallelMustFitTheContext() {
        Path p = TestData.bundledModel();
        ModelException e = assertThrows(ModelException.class, () -> Model.load(p, new Model.Options("cpu", 1, 4, 4).withParallel(8)));
        assertTrue(e.getMessage().contains("--parallel 8"), e.getMessage());
    }
}
