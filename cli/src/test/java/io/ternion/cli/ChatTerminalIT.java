package io.ternion.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ternion chat} on a real terminal: the packaged image's bin/ternion (its launcher's stderr
 * filter, JLine inside the jlink runtime) and the ./ternion launcher, run in a tmux pane and driven
 * with keys as a user would. Every wait polls the pane with a generous limit, so a slow or busy
 * machine only makes it slower. Skipped when tmux is missing, except under CI=true, where it fails.
 */
class ChatTerminalIT {
    static final Path MODEL = InfoCommandTest.bundledModel();
    /** Each wait's limit: a JVM start and the model's load on a loaded machine take seconds, not minutes. */
    static final long PATIENCE_MS = 120_000;

    @TempDir
    Path dir;

    /** A tmux server of each test's own: one just killed may still be going away when the next test starts. */
    private final String server = "ternion-chat-it-" + ProcessHandle.current().pid() + "-" + java.util.UUID.randomUUID();
    private boolean started;

    private static void requireTmux() {
        for (String d : new String[] {"/usr/bin", "/bin", "/usr/local/bin"}) {
            if (Files.isExecutable(Path.of(d, "tmux"))) return;
        }
        String why = "tmux is not installed (apt-get install tmux)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(why);
        Assumptions.abort(why + ": the terminal chat test is skipped; under CI=true it fails");
    }

    private String tmux(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("tmux", "-L", server));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "tmux " + String.join(" ", args) + " returned");
        assertEquals(0, p.exitValue(), "tmux " + String.join(" ", args) + ": " + output);
        return output;
    }

    /** Runs {@code shellCommand} in a new pane; when it ends, the pane says "chat exited with CODE". */
    private void start(String shellCommand) throws Exception {
        requireTmux();
        tmux("-f", "/dev/null", "new-session", "-d", "-s", "chat", "-x", "150", "-y", "50",
                // A cache folder of the test's own: chat keeps its history there, not in the user's home.
                "bash -c 'export TERNION_CACHE=" + dir.resolve("cache") + "; " + shellCommand + "; echo \"chat exited with $?\"; sleep 600'");
        started = true;
    }

    @AfterEach
    void stopTmux() throws Exception {
        if (started) tmux("kill-server");
    }

    private void keys(String... keys) throws Exception {
        List<String> args = new ArrayList<>(List.of("send-keys", "-t", "chat"));
        args.addAll(List.of(keys));
        tmux(args.toArray(String[]::new));
    }

    /** Text typed as is (no key names), then Enter. */
    private void type(String text) throws Exception {
        tmux("send-keys", "-t", "chat", "-l", text);
        keys("Enter");
    }

    /** The pane's lines, its scrollback included, without the empty ones or trailing blanks ("> " reads ">"). */
    private List<String> pane() throws Exception {
        return tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "chat").lines().map(String::stripTrailing).filter(l -> !l.isEmpty()).toList();
    }

    private List<String> waitFor(String what, Predicate<List<String>> condition) throws Exception {
        long deadline = System.nanoTime() + PATIENCE_MS * 1_000_000;
        List<String> lines = pane();
        while (!condition.test(lines)) {
            if (System.nanoTime() > deadline) fail("waited " + PATIENCE_MS / 1000 + " s for " + what + "; the pane:\n" + String.join("\n", lines));
            Thread.sleep(100);
            lines = pane();
        }
        return lines;
    }

    private static long cues(List<String> lines) {
        return lines.stream().filter(l -> l.equals(">") || l.startsWith("> ")).count();
    }

    /** The pane waits at a fresh "> " cue, the {@code n}-th of the session. */
    private List<String> waitForCue(int n) throws Exception {
        return waitFor("cue number " + n, l -> cues(l) >= n && l.getLast().equals(">"));
    }

    private static String image(String file) {
        return PackagedImageIT.IMAGE.resolve(file).toString();
    }

    @Test
    void keysCommandsAndCtrlCInTheImage() throws Exception {
        assertTrue(Files.isExecutable(PackagedImageIT.IMAGE.resolve("bin/ternion")), "mvn package wrote " + PackagedImageIT.IMAGE);
        // --ignore-eos and a long context: a reply runs on for many seconds, long enough to stop it.
        start(image("bin/ternion") + " chat -m " + MODEL + " --backend cpu --ignore-eos -c 4096");
        waitForCue(1);

        type("Hello \\"); // a trailing backslash goes on to the next line
        waitFor("the continuation line", l -> l.getLast().equals("."));
        type("there");
        List<String> replying = waitFor("a reply under way", l -> {
            int sent = l.indexOf(". there");
            return sent >= 0 && l.size() > sent + 1 && !l.getLast().isBlank();
        });
        assertFalse(replying.stream().anyMatch(l -> l.startsWith("ternion: load")), "the reply is still going: " + replying);
        keys("C-c");
        List<String> stopped = waitForCue(2);
        assertTrue(stopped.stream().anyMatch(l -> l.startsWith("ternion: load")), "the stopped reply's timings: " + stopped);
        assertFalse(String.join("\n", stopped).contains("context full"), "Ctrl-C stopped the reply before the context filled: " + stopped);

        keys("Up");
        waitFor("the message recalled", l -> l.getLast().equals(". there") && l.get(l.size() - 2).equals("> Hello \\"));
        keys("C-c"); // drops the typed line, leaves nothing
        waitForCue(3);

        type("/help");
        List<String> help = waitForCue(4);
        assertTrue(help.stream().anyMatch(l -> l.contains("/save FILE")), String.join("\n", help));
        assertTrue(help.stream().anyMatch(l -> l.contains("ending in \\ goes on")), "the help tells of multiline input");

        type("/nonsense");
        List<String> hint = waitForCue(5);
        assertTrue(hint.get(hint.size() - 2).contains("unknown command /nonsense"), String.join("\n", hint));

        Path saved = dir.resolve("chat.json");
        type("/save " + saved);
        waitForCue(6);
        JsonNode messages = new ObjectMapper().readTree(saved.toFile()).get("messages");
        assertEquals(2, messages.size(), messages.toString());
        assertEquals("user", messages.get(0).get("role").asText());
        assertEquals("Hello \nthere", messages.get(0).get("content").asText(), "the continued lines are one message");
        assertEquals("assistant", messages.get(1).get("role").asText());
        assertFalse(messages.get(1).get("content").asText().isBlank(), "the stopped reply stays, as far as it went");

        type("/clear");
        waitForCue(7);
        type("/save " + saved);
        waitForCue(8);
        assertEquals(0, new ObjectMapper().readTree(saved.toFile()).get("messages").size(), "/clear forgot the conversation");

        keys("C-d");
        List<String> end = waitFor("the exit", l -> l.getLast().startsWith("chat exited"));
        assertEquals("chat exited with 0", end.getLast());
    }

    /** Up in a new chat recalls a line sent in an earlier one: the history lives in the cache folder. */
    @Test
    void historyOutlivesTheChat() throws Exception {
        String chat = image("bin/ternion") + " chat -m " + MODEL + " --backend cpu -n 4";
        start(chat + "; " + chat);
        waitForCue(1);
        type("remember this line");
        waitForCue(2);
        keys("C-d");
        waitForCue(3); // the second chat
        assertTrue(Files.readString(dir.resolve("cache/chat_history")).contains("remember this line"), "the history file holds the line");
        keys("Up");
        waitFor("the line recalled from the first chat", l -> l.getLast().equals("> remember this line"));
        keys("C-u", "C-d");
        List<String> end = waitFor("the exit", l -> l.getLast().startsWith("chat exited"));
        assertEquals("chat exited with 0", end.getLast());
    }

    @Test
    void ctrlCAtAnEmptyPromptLeaves() throws Exception {
        start(image("bin/ternion") + " chat -m " + MODEL + " --backend cpu");
        waitForCue(1);
        keys("C-c");
        List<String> end = waitFor("the exit", l -> l.getLast().startsWith("chat exited"));
        assertEquals("chat exited with 0", end.getLast());
    }

    /** Input from a pipe, stderr on the terminal: the cue comes through the ./ternion launcher's filter at once. */
    @Test
    void theCueShowsThroughTheLauncherWithPipedInput() throws Exception {
        Path launcher = MODEL.getParent().getParent().resolve("ternion");
        assertTrue(Files.isRegularFile(InfoCommandTest.bundledModel().getParent().getParent().resolve("cli/target/ternion.jar")),
                "mvn package built the jar ./ternion runs");
        start("sleep 600 | " + launcher + " chat -m " + MODEL + " --backend cpu");
        List<String> lines = waitForCue(1);
        assertFalse(String.join("\n", lines).contains("WARNING: Using incubator modules"), "the filter still drops the JVM's notice");
    }
}
