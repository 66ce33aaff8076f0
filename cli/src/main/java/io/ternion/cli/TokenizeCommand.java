package io.ternion.cli;

import io.ternion.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code ternion tokenize}: text to token ids with a model's (or a tokenizer.json's) tokenizer. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of TEXT (or of a file) on one line.")
final class TokenizeCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE",
            description = "GGUF model whose tokenizer to use (default: the bundled models/stories260K.gguf).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "A Hugging Face tokenizer.json (or .json.gz) to use instead of the model's.")
    Path tokenizerJson;

    @Option(names = "--no-bos", description = "Do not add the BOS token.")
    boolean noBos;

    @Option(names = "--special", description = "Parse special-token text such as <|eot_id|> as those tokens.")
    boolean special;

    @Option(names = "--pieces", description = "Print one token per line: id, a tab, and its piece.")
    boolean pieces;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "Read the text from FILE (UTF-8).")
        Path file;

        @Parameters(paramLabel = "TEXT", description = "The text to tokenize.")
        String text;
    }

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Tokenizer tok = Tokenizer.load(tokenizerJson != null ? tokenizerJson : model != null ? model : Main.defaultModel());
        String text = input.file != null ? UserFiles.readUtf8(input.file) : input.text;
        int[] ids = tok.encode(text, !noBos && tok.addsBos(), special);
        PrintWriter out = spec.commandLine().getOut();
        if (pieces) {
            for (int id : ids) out.println(id + "\t" + escape(tok.piece(id)));
        } else {
            StringJoiner j = new StringJoiner(" ");
            for (int id : ids) j.add(Integer.toString(id));
            out.println(j);
        }
        out.flush();
        return 0;
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
    }
}
