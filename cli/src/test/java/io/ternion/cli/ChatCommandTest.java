package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.bundledModel;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import io.ternion.cli.InfoCommandTest.Result;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ChatCommandTest {

    private static Result withInput(String input, String... args) {
        return ternion(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), args);
    }

    @Test
    void twoTurnsThenExit() {
        Result r = withInput("Hello\nTell me more\n/exit\nignored\n",
                "chat", "-m", bundledModel().toString(), "-n", "8", "--temp", "0");
        assertEquals(0, r.code(), r.err());
        assertEquals(2, r.out().lines().count(), "one reply line per turn:\n" + r.out());
        assertEquals(3, r.err().split("> ", -1).length - 1, "a cue before each read, the /exit one included");
        // The second turn evaluates only what is new: its prompt is shorter than the whole conversation.
        var prompts = r.err().lines().filter(l -> l.contains("prompt ")).map(l -> Integer.parseInt(l.replaceAll(".*prompt (\\d+) tokens.*", "$1"))).toList();
        assertEquals(2, prompts.size(), r.err());
        assertTrue(prompts.get(1) < prompts.get(0) + 8 + 5, "the KV cache is reused across turns: " + prompts);
    }

    @Test
    void endOfInputLeaves() {
        Result r = withInput("", "chat", "-m", bundledModel().toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out());
    }

    @Test
    void runWithChatPrintsOnlyTheReply() {
        Result r = ternion("run", "-m", bundledModel().toString(), "--chat", "-p", "Hello", "-n", "5", "--temp", "0");
        assertEquals(0, r.code(), r.err());
        assertFalse(r.out().contains("Hello"), r.out());
        assertTrue(r.err().contains("built-in plain"), r.err());
        Result sys = ternion("run", "-m", bundledModel().toString(), "--system", "x", "-p", "Hello");
        assertEquals(2, sys.code());
        assertTrue(sys.err().contains("--system needs --chat"), sys.err());
    }

    /**
     * A 64-position context over six turns: old turns are dropped (said on stderr) and every turn
     * is answered; with --no-context-shift, turns that no longer fit are refused.
     */
    @Test
    void aTinyContextKeepsGoingOverManyTurns() {
        String input = "Once upon a time there was a cat.\nWhat did the cat see?\nAnd then?\nWhere did it go?\nWho did it meet?\nThe end?\n";
        Result r = withInput(input, "chat", "-m", bundledModel().toString(), "--backend", "cpu", "-c", "64", "-n", "24", "--temp", "0",
                "--system", "Tell a story about a cat.");
        assertEquals(0, r.code(), r.err());
        assertEquals(6, r.out().lines().count(), "a reply line per turn:\n" + r.out());
        assertTrue(r.err().contains("context full: dropped the oldest"), r.err());
        assertFalse(r.err().contains("raise -c"), r.err());

        Result off = withInput(input, "chat", "-m", bundledModel().toString(), "--backend", "cpu", "-c", "64", "-n", "24", "--temp", "0",
                "--system", "Tell a story about a cat.", "--no-context-shift");
        assertEquals(0, off.code(), off.err());
        assertTrue(off.err().contains("but the context holds 64"), off.err());
        assertFalse(off.err().contains("context full: dropped"), off.err());
    }
}
