package io.ternion.server;

import io.ternion.engine.ChatFormat;
import io.ternion.engine.Model;
import io.ternion.engine.SamplerParams;
import io.ternion.gguf.TestData;

/**
 * One server replica in a process of its own for {@link NginxScaleOutTest}, which kills it as a
 * crash would: stories260K on the cpu backend, a free port, and the line {@code ternion serve}
 * prints ({@code ternion: listening on URL}), here once the model is ready.
 */
public final class Replica {
    static final int SLOTS = 4, PER_SLOT = 256;

    public static void main(String[] args) throws Exception {
        Model model = Model.load(TestData.bundledModel(), new Model.Options("cpu", 1, SLOTS * PER_SLOT, 64).withParallel(SLOTS));
        OpenAiServer server = new OpenAiServer(ServerSettings.local("stories260K", SamplerParams.DEFAULTS));
        server.start();
        server.serve(model, ChatFormat.forServer(model.file().metadata(), model.config().architecture(), model.tokenizer()));
        System.out.println("ternion: listening on " + server.url());
        System.out.flush();
        server.join();
    }
}
