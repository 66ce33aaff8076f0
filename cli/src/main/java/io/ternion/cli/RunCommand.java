package io.ternion.cli;

import io.ternion.chat.Message;
import io.ternion.engine.Model;
import io.ternion.engine.ModelConfig;
import io.ternion.engine.Session;
import io.ternion.graph.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ternion run}: complete a prompt, streaming tokens to stdout and timings to stderr. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt (the bundled stories260K model by default).")
final class RunCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions gen;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", defaultValue = "", description = "The prompt (default: empty, start from BOS).")
    String prompt;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the prompt from a UTF-8 file (- for standard input; at most 8 MiB).")
    Path promptFile;

    @Option(names = {"--chat", "-st", "--single-turn"}, description = "Wrap the prompt as a user turn in the model's chat template (llama.cpp's -st).")
    boolean chat;

    @Option(names = {"--system", "-sys", "--system-prompt"}, paramLabel = "TEXT", description = "With --chat: a system message first.")
    String system;

    @Option(names = {"-cnv", "--conversation"}, description = "As llama.cpp: a conversation (ternion chat), the prompt as its first turn.")
    boolean conversation;

    @Option(names = {"-no-cnv", "--no-conversation"}, description = "As llama.cpp: plain completion, which run does anyway.")
    boolean noConversation;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        var params = gen.sampler();
        String text = promptFile != null ? UserFiles.readUtf8(promptFile) : prompt;
        if (conversation && (noConversation || chat)) throw new IllegalArgumentException("-cnv is a conversation; it goes with neither -no-cnv nor -st/--chat");
        if (conversation) return new ChatCommand(gen, system, text, spec).call();
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try (Model m = gen.load()) {
            describe(err, m);
            int[] tokens;
            if (chat) {
                List<Message> turns = new ArrayList<>();
                if (system != null) turns.add(Message.system(system));
                turns.add(Message.user(text));
                tokens = gen.chatFormat(m).encode(turns);
            } else {
                if (system != null) throw new IllegalArgumentException("--system needs --chat");
                tokens = m.tokenizer().encode(text);
            }
            Session session = m.newSession();
            session.checkPrompt(tokens);
            session.contextShift(gen.shiftKeep(true, tokens[0] == m.tokenizer().vocabulary().bos()));
            // Echo a completion's prompt, as llama.cpp does (a chat prints only the reply), once it is evaluated: a bar may be drawn until then.
            session.onPromptProgress(promptBar(m, () -> {
                if (!chat) out.print(text);
                out.flush();
            }));
            Session.Result r = session.generate(tokens, gen.nPredict, params, (id, piece) -> {
                out.print(piece);
                out.flush();
                return true;
            });
            out.println();
            out.flush();
            timings(err, m, r);
        }
        return 0;
    }

    /**
     * A bar on stderr while a prompt longer than one batch is evaluated, wiped at the end (the timings
     * line sums it up), then {@code evaluated}: stdout's text goes on the terminal only after the bar.
     */
    static Session.PromptProgress promptBar(Model m, Runnable evaluated) {
        return new Session.PromptProgress() {
            private Progress bar;
            private int shown;

            @Override
            public void evaluated(int done, int total) {
                if (done == 0) {
                    bar = total > m.compiled().maxBatch() ? Progress.start("evaluating the prompt", "evaluated the prompt", total, Progress.Unit.TOKENS) : null;
                    shown = 0;
                }
                if (bar != null) bar.advance(done - shown);
                shown = done;
                if (done == total) {
                    if (bar != null) bar.clear();
                    evaluated.run();
                }
            }
        };
    }

    static void describe(PrintWriter err, Model m) {
        ModelConfig c = m.config();
        String rope = c.ropeScaling().scales() ? ", rope scaling " + c.ropeScaling() : "";
        err.printf(Locale.ROOT, "ternion: %s: %s, %d layers, dim %d, vocab %d; backend %s, context %d%s%n",
                m.file().source(), c.architecture(), c.layers(), c.dim(), c.vocabSize(), m.backendName(), m.contextLength(), rope);
        err.flush();
    }

    static void timings(PrintWriter err, Model m, Session.Result r) {
        err.printf(Locale.ROOT, "ternion: load %.1f ms | prompt %d tokens in %.1f ms (%.1f tok/s) | generation %d tokens in %.1f ms (%.1f tok/s)%s%n",
                m.loadNanos() / 1e6, r.evaluatedPromptTokens(), r.promptNanos() / 1e6, r.promptTokensPerSecond(),
                r.tokens().length, r.generationNanos() / 1e6, r.generationTokensPerSecond(),
                r.stop() == Session.StopReason.CONTEXT_FULL ? " | stopped: context full (raise -c)"
                        : r.shiftedOut() > 0 ? " | context shifted: dropped " + r.shiftedOut() + " tokens" : "");
        err.flush();
    }
}
