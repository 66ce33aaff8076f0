package io.ternion.cli;

import io.ternion.gguf.InputFiles;
import io.ternion.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        String text = input.file != null ? readUtf8(input.file) : input.text;
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

    /** Throws unless {@code file} can be written (its folder exists and is writable, and it is no folder itself): said before a long run, not after. */
    static void checkWritable(Path file, String flag) {
        Path dir = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file)) throw new IllegalArgumentException(flag + " " + file + " is a directory, not a file to write");
        if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException(flag + " " + file + ": the folder " + dir + " does not exist");
        if (!Files.isWritable(dir)) throw new IllegalArgumentException(flag + " " + file + ": the folder " + dir + " is not writable");
    }

    /**
     * A prompt can hold only as many tokens as a context, which a few MiB of text exceed many times
     * over: a larger file is refused before it is read, let alone tokenized.
     */
    static final long MAX_PROMPT_BYTES = 8L << 20;

    /** The file's text ({@code -}: standard input), at most {@link #MAX_PROMPT_BYTES}; invalid UTF-8 is an error naming the byte offset. */
    static String readUtf8(Path file) throws java.io.IOException {
        byte[] bytes;
        if (file.toString().equals("-")) {
            try (var in = InputFiles.bounded(System.in, MAX_PROMPT_BYTES, "standard input", "a prompt")) {
                bytes = in.readAllBytes();
            }
        } else {
            bytes = InputFiles.readAtMost(file, MAX_PROMPT_BYTES, "a prompt");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (MalformedInputException e) {
            throw new IllegalArgumentException(file + ": invalid UTF-8 at byte " + firstInvalid(bytes));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(file + ": invalid UTF-8");
        }
    }

    private static int firstInvalid(byte[] b) {
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(b);
        var out = java.nio.CharBuffer.allocate(b.length + 1);
        dec.decode(in, out, true);
        return in.position();
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
    }
}
