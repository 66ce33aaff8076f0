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
}
