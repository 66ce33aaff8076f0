package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.bundledModel;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import io.ternion.cli.InfoCommandTest.Result;
import org.junit.jupiter.api.Test;

class RunCommandTest {
    private static final String STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    @Test
    void greedyRunStreamsTheStoryAndTimingsGoToStderr() {
        Result r = ternion("run", "-m", bundledModel().toString(), "--temp", "0", "-n", "31");
        assertEquals(0, r.code(), r.err());
        assertEquals(STORY + "\n", r.out());
        assertTrue(r.err().contains("prompt 1 tokens"), r.err());
        assertTrue(r.err().contains("generation 31 tokens"), r.err());
    }

    @Test
    void thePromptIsEchoedAndContinued() {
        Result r = ternion("run", "-m", bundledModel().toString(), "-p", "Once upon a time", "--temp", "0", "-n", "27");
        assertEquals(0, r.code(), r.err());
        assertEquals(STORY + "\n", r.out());
    }

    /**
     * A prompt of several batches gets a progress bar only on a terminal; elsewhere the timings line
     * is its summary, and the echo still comes before the continuation.
     */
    @Test
    void aLongPromptOffATerminalPrintsNoBar() {
        Result r = ternion("run", "-m", bundledModel().toString(), "-p", "Once upon a time", "--temp", "0", "-n", "27", "-b", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals(STORY + "\n", r.out());
        assertFalse(r.err().contains("\r") || r.err().contains("evaluat"), r.err());
        assertTrue(r.err().contains("prompt 5 tokens"), r.err());
    }

    /** The first generated token's leading space (SentencePiece's ▁) stays when it continues a prompt. */
    @Test
    void theFirstTokenAfterThePromptKeepsItsSpace() {
        Result r = ternion("run", "-m", bundledModel().toString(), "-p", "Once upon a", "--temp", "0", "-n", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("Once upon a time"), r.out());
    }

    @Test
    void seededSamplingRepeats() {
        Result a = ternion("run", "-m", bundledModel().toString(), "-n", "40", "--seed", "7", "--temp", "1.2");
        Result b = ternion("run", "-m", bundledModel().toString(), "-n", "40", "--seed", "7", "--temp", "1.2");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        Result c = ternion("run", "-m", bundledModel().toString(), "-n", "40", "--seed", "8", "--temp", "1.2");
        assertNotEquals(a.out(), c.out(), "another seed should tell a different story");
    }

    @Test
    void badSettingsAreOneLineAndExit2() {
        Result small = ternion("run", "-m", bundledModel().toString(), "-c", "3", "-p", "Once upon a time");
        assertEquals(2, small.code());
        assertEquals("", small.out());
        assertTrue(small.err().contains("ternion: error: the prompt is 5 tokens but the context holds 3"), small.err());

        Result flag = ternion("run", "--bogus");
        assertEquals(2, flag.code());

        Result missing = ternion("run", "-m", "/no/model.gguf");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("no such file: /no/model.gguf"), missing.err());

        Result backend = ternion("run", "-m", bundledModel().toString(), "--backend", "quantum");
        assertEquals(2, backend.code());
        assertTrue(backend.err().contains("unknown backend 'quantum'"), backend.err());

        Result topP = ternion("run", "-m", bundledModel().toString(), "--top-p", "1.5");
        assertEquals(2, topP.code());
        assertTrue(topP.err().contains("--top-p must be in [0, 1]"), topP.err());
    }

    /** -c 64 and 200 tokens: the context shifts (said in the timings) and all 200 come; --no-context-shift stops at the full context. */
    @Test
    void contextShiftGoesOnPastTheContext() {
        Result r = ternion("run", "-m", bundledModel().toString(), "--backend", "cpu", "-c", "64", "--temp", "0", "-n", "200");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("generation 200 tokens"), r.err());
        assertTrue(r.err().matches("(?s).*context shifted: dropped \\d+ tokens.*"), r.err());
        assertTrue(r.out().startsWith(STORY), r.out());

        Result off = ternion("run", "-m", bundledModel().toString(), "--backend", "cpu", "-c", "64", "--temp", "0", "-n", "200", "--no-context-shift");
        assertEquals(0, off.code(), off.err());
        assertTrue(off.err().contains("generation 64 tokens") && off.err().contains("stopped: context full"), off.err());

        Result bad = ternion("run", "-m", bundledModel().toString(), "--keep", "-2");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--keep must be >= -1"), bad.err());
    }
}
