package io.ternion.cli;

import io.ternion.chat.Message;
import io.ternion.engine.ChatContext;
import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.ModelException;
import io.ternion.engine.SamplerParams;
import io.ternion.engine.Session;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
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
 * is evaluated. Replies go to stdout, the "> " cue and timings to stderr.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chat with a model in its chat template; /exit or Ctrl-D leaves.")
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
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Model m = gen.load()) {
            RunCommand.describe(err, m);
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
                    err.print("> ");
                    err.flush();
                    try {
                        line = UserFiles.readLine(in);
                    } catch (IllegalArgumentException e) {
                        err.println(); // the error goes on a line of its own, not after the cue
                        throw e;
                    }
                }
                if (line == null || line.strip().equals("/exit")) break;
                if (line.isBlank()) continue;
                turns.add(Message.user(line));
                int[] tokens = ChatContext.fit(session, format, turns, gen.shiftKeep(true, false) >= 0);
                try {
                    session.checkPrompt(tokens);
                } catch (ModelException e) {
                    turns.removeLast();
                    err.println("ternion: " + e.getMessage());
                    continue;
                }
                Session.Result r = session.generate(tokens, gen.nPredict, params, (id, piece) -> {
                    out.print(piece);
                    out.flush();
                    return true;
                });
                out.println();
                out.flush();
                turns.add(Message.assistant(r.text().strip()));
                RunCommand.timings(err, m, r);
            }
        }
        return 0;
    }
}
