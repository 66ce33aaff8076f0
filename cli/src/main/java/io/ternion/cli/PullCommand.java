package io.ternion.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ternion pull}: a model by name from the Hugging Face hub into the cache, as {@code -hf} does before a run. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Download a GGUF model by name from the Hugging Face hub (resumable, sha256-checked) and print its path.",
                "Cache: $TERNION_CACHE or ~/.cache/ternion; hub: $HF_ENDPOINT; gated repositories: $HF_TOKEN."})
final class PullCommand implements Callable<Integer> {
    @Parameters(paramLabel = "NAME", description = "OWNER/REPO[:QUANT] (the repository's .gguf for that quantization, or its only one) or hf://OWNER/REPO/FILE.gguf")
    String name;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path p = HubDownload.fromEnvironment().fetch(name);
        spec.commandLine().getOut().println(p);
        return 0;
    }
}
