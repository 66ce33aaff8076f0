package io.ternion.cli;

import io.ternion.chat.Message;
import io.ternion.engine.ChatContext;
import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.ModelException;
import io.ternion.engine.SamplerParams;
import io.ternion.engine.Session;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ternion chat}: an interactive conversation in the model's chat template. Each turn re-renders
 * the whole conversation; the session keeps the KV cache of what it has seen, so only the new turn
 * is evaluated. {@link ChatConsole} is the user's side: a line editor on a terminal, plain lines
 * otherwise; lines that begin with {@code /} are chat's own commands, never the model's.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chat with a model in its chat template; /help lists the commands, /exit or Ctrl-D leaves.")
final class ChatCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions gen;

    @Option(names = {"--system", "-sys", "--system-prompt"}, paramLabel = "TEXT", description = "A system message to start the conversation.")
    String system;

    @Option(names = {"-cnv", "--conversation"}, description = "As llama.cpp: a conversation, which chat is anyway.")
    boolean conversation;

    @Spec
    CommandSpec spec;

    /** The first user turn, before any read from standard input (run -cnv -p TEXT); null for none. */
    private String firstTurn;

    ChatCommand() {}

    /** {@code run -cnv}: run's options, its prompt as the first turn. */
    ChatCommand(GenerationOptions gen, String system, String firstTurn, CommandSpec spec) {
        this.gen = gen;
        this.system = system;
        this.firstTurn = firstTurn == null || firstTurn.isBlank() ? null : firstTurn;
        this.spec = spec;
    }

    @Override
    public Integer call() throws Exception {
        SamplerParams params = gen.sampler();
        try (ChatConsole console = ChatConsole.open(spec.commandLine().getOut(), spec.commandLine().getErr());
             Model m = gen.load()) {
            PrintWriter notices = console.notices();
            RunCommand.describe(notices, m);
            ChatFormat format = gen.chatFormat(m);
            Session session = m.newSession();
            session.onPromptProgress(RunCommand.promptBar(m, () -> { }));
            List<Message> turns = new ArrayList<>();
            if (system != null) turns.add(Message.system(system));
            while (true) {
                String line;
                if (firstTurn != null) {
                    line = firstTurn;
                    firstTurn = null;
                } else {
                    line = console.readMessage();
                }
                if (line == null) break;
                if (line.isBlank()) continue;
                if (line.startsWith("/") && !line.startsWith("//")) {
                    if (!command(line.strip(), turns, notices)) break;
                    continue;
                }
                if (line.startsWith("//")) line = line.substring(1);
                turns.add(Message.user(line));
                int[] tokens = fitContext(ChatContext.fit(session, format, turns, gen.shiftKeep(true, false) >= 0), turns, m, notices);
                if (tokens == null) continue;
                try {
                    session.checkPrompt(tokens);
                } catch (ModelException e) {
                    turns.removeLast();
                    notices.println("ternion: " + e.getMessage());
                    notices.flush();
                    continue;
                }
                PrintWriter out = console.replies();
                Session.Result r = console.replying(stopAsked -> session.generate(tokens, gen.nPredict, params, (id, piece) -> {
                    out.print(piece);
                    out.flush();
                    return true;
                }, stopAsked));
                out.println();
                out.flush();
                if (r.stop() == Session.StopReason.CANCELLED && r.tokens().length == 0) {
                    // Ctrl-C while the prompt was read: the model never answered, so the message is taken back.
                    turns.removeLast();
                    notices.println("ternion: stopped before the reply; the message was not kept");
                    notices.flush();
                    continue;
                }
                // A reply stopped with Ctrl-C stays, as far as it went: the conversation goes on from there.
                turns.add(Message.assistant(r.text().strip()));
                RunCommand.timings(notices, m, r);
                if (r.stop() == Session.StopReason.CONTEXT_FULL) contextFull(m, notices);
            }
        }
        return 0;
    }

    static final String HELP = """
            Type a message and press Enter. A line ending in \\ goes on to the next line (multiline input).
              /help         this list
              /clear        forget the conversation (the system prompt stays)
              /save FILE    write the conversation to FILE as JSON: {"messages": [{"role": ..., "content": ...}, ...]}
              /exit         leave (so do Ctrl-D, and Ctrl-C at an empty prompt)
              //text        sends /text to the model
            On a terminal: Up/Down recall earlier lines, Ctrl-C stops a reply (what was said stays; before its
            first word, the message is taken back), Ctrl-C on a typed line drops it.""";

    /** A line that begins with {@code /}; returns false to leave the chat. */
    private boolean command(String line, List<Message> turns, PrintWriter notices) {
        String name = line.split("\\s+", 2)[0];
        String argument = line.substring(name.length()).strip();
        switch (name) {
            case "/exit", "/quit" -> {
                return false;
            }
            case "/help" -> notices.println(HELP);
            case "/clear" -> {
                turns.removeIf(t -> !t.role().equals("system"));
                notices.println("ternion: conversation cleared" + (system != null ? " (the system prompt stays)" : ""));
            }
            case "/save" -> {
                if (argument.isEmpty()) {
                    notices.println("ternion: /save needs a file name: /save FILE");
                } else {
                    try {
                        Path file = Path.of(argument);
                        Files.writeString(file, conversationJson(turns) + "\n", StandardCharsets.UTF_8);
                        notices.println("ternion: saved " + turns.size() + " messages to " + file);
                    } catch (IOException | java.nio.file.InvalidPathException e) {
                        notices.println("ternion: could not save to " + argument + ": " + Main.userMessage(e));
                    }
                }
            }
            default -> notices.println("ternion: unknown command " + name + " (/help lists them; //text sends /text to the model)");
        }
        notices.flush();
        return true;
    }

    /** The conversation as an OpenAI chat request's {@code messages}, so the file can be sent to {@code ternion serve}. */
    static String conversationJson(List<Message> turns) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode messages = root.putArray("messages");
        for (Message t : turns) messages.addObject().put("role", t.role()).put("content", t.content());
        return json.writerWithDefaultPrettyPrinter().writeValueAsString(root);
    }

    /**
     * The prompt for the conversation, or null when it does not fit the context (the last turn is then
     * dropped and the user told). {@link ChatContext#fit} has already dropped the oldest turns when the
     * context shift is on; what still does not fit gets here (--no-context-shift, or one turn too long).
     */
    private static int[] fitContext(int[] tokens, List<Message> turns, Model m, PrintWriter notices) {
        if (tokens.length < m.contextLength()) return tokens;
        turns.removeLast();
        contextFull(m, notices);
        return null;
    }

    private static void contextFull(Model m, PrintWriter notices) {
        notices.println("ternion: context full (" + m.contextLength() + " tokens): /clear to start over (or raise -c)");
        notices.flush();
    }
}
