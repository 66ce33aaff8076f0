package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.bundledModel;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import io.ternion.cli.InfoCommandTest.Result;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @TempDir
    Path dir;

    @Test
    void commandsNeverReachTheModel() throws Exception {
        Path saved = dir.resolve("chat.json");
        Result r = withInput("/help\nfirst \\\nsecond\n/nonsense\n/save " + saved + "\n/save\n/clear\n//slash\n/save " + dir.resolve("after.json") + "\n",
                "chat", "-m", bundledModel().toString(), "-n", "4", "--temp", "0", "--system", "Be brief.");
        assertEquals(0, r.code(), r.err());
        assertEquals(2, r.out().lines().count(), "only the two messages got replies:\n" + r.out());
        assertTrue(r.err().contains("/save FILE"), "/help lists the commands: " + r.err());
        assertTrue(r.err().contains("unknown command /nonsense (/help lists them"), r.err());
        assertTrue(r.err().contains("/save needs a file name"), r.err());
        assertTrue(r.err().contains("conversation cleared (the system prompt stays)"), r.err());

        JsonNode before = new ObjectMapper().readTree(saved.toFile()).get("messages");
        assertEquals(3, before.size(), before.toString());
        assertEquals("system", before.get(0).get("role").asText());
        assertEquals("Be brief.", before.get(0).get("content").asText());
        assertEquals("first \nsecond", before.get(1).get("content").asText(), "a line ending in \\ goes on to the next");
        assertEquals("assistant", before.get(2).get("role").asText());

        JsonNode after = new ObjectMapper().readTree(dir.resolve("after.json").toFile()).get("messages");
        assertEquals(3, after.size(), "/clear kept the system prompt; //slash went to the model: " + after);
        assertEquals("/slash", after.get(1).get("content").asText());
    }

    /** Without the context shift (see aTinyContextKeepsGoingOverManyTurns for it). */
    @Test
    void aFullContextSaysSoAndClearStartsOver() {
        Result r = withInput("Hello\nMore please\n/clear\nHello\n",
                "chat", "-m", bundledModel().toString(), "-c", "32", "--ignore-eos", "--temp", "0", "--no-context-shift");
        assertEquals(0, r.code(), r.err());
        String full = "context full (32 tokens): /clear to start over";
        assertEquals(3, r.err().split(java.util.regex.Pattern.quote(full), -1).length - 1,
                "the two replies that filled it and the turn that did not fit say so:\n" + r.err());
        assertEquals(2, r.out().lines().count(), "the turn that did not fit got no reply:\n" + r.out());
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
        assertTrue(off.err().contains("context full (64 tokens): /clear to start over"), off.err());
        assertFalse(off.err().contains("context full: dropped"), off.err());
    }
}
