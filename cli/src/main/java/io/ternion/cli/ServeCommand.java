package io.ternion.cli;

import io.ternion.engine.Model;
import io.ternion.server.OpenAiServer;
import io.ternion.server.ServerSettings;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ternion serve}: the OpenAI-compatible server. It listens first and says so on stdout (one
 * line, with the port: {@code --port 0} picks a free one), then loads the model; {@code /health}
 * answers 503 until the model is ready.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "An OpenAI-compatible HTTP server (llama-server's flags): /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics, /tokenize, /detokenize.")
final class ServeCommand implements Callable<Integer> {
    @Mixin
    GenerationOptions gen;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "The address to listen on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE}, this machine only).")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080", description = "The port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Require Authorization: Bearer KEY on every route but /health.")
    String apiKey;

    @Option(names = "--queue", paramLabel = "N", defaultValue = "-1",
            description = "Requests that may wait for a free slot; beyond that, 503 with Retry-After; -1: 4 per slot (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = {"-to", "--timeout"}, paramLabel = "SECONDS", defaultValue = "" + ServerSettings.DEFAULT_TIMEOUT_SECONDS,
            description = "Close a connection idle this long (default: ${DEFAULT-VALUE}).")
    int timeout;

    @Option(names = {"-a", "--alias"}, paramLabel = "NAME", description = "The model's name in /v1/models and in responses (default: the file's name, or -hf's).")
    String alias;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        String name = alias != null ? alias
                : gen.hfRepo != null ? gen.hfRepo
                : (gen.model != null ? gen.model : Main.defaultModel()).getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
        ServerSettings settings = new ServerSettings(host, port, apiKey, queue, timeout, ServerSettings.DEFAULT_MAX_BODY_BYTES, name,
                gen.samplerDefaults(), gen.nPredict);
        try (OpenAiServer server = new OpenAiServer(settings)) {
            try {
                server.start();
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("cannot listen on " + host + ":" + port + ": "
                        + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
            }
            out.println("ternion: listening on " + server.url());
            out.flush();
            Thread stopper = new Thread(server::close, "ternion-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(stopper);
            try (Model m = gen.loadWithSlots()) {
                RunCommand.describe(err, m);
                server.serve(m, gen.serverChatFormat(m), gen.shiftKeep(false, m.tokenizer().vocabulary().bos() >= 0));
                err.printf(Locale.ROOT, "ternion: ready: %s, %d slots of %d positions, load %.1f ms%n", name, m.parallel(), m.contextLength(),
                        m.loadNanos() / 1e6);
                err.flush();
                server.join();
            } catch (InterruptedException e) {
                // stopped from inside the JVM (a test, an embedding): close as on Ctrl-C
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(stopper);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running: it closes the server
                }
            }
        }
        return 0;
    }
}
