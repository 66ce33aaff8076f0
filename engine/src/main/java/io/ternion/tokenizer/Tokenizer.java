package io.ternion.tokenizer;

import io.ternion.gguf.Metadata;
import io.ternion.graph.Log;
import java.nio.charset.StandardCharsets;

/**
 * Text to token ids and back. {@link #of} picks SentencePiece or byte-level BPE from the vocabulary.
 * Special tokens written in the text are split out first (see {@link SpecialTokens}); the pieces in
 * between go to the model-specific {@link #encodeText}.
 */
public abstract class Tokenizer {
    protected final Vocabulary vocab;
    private final SpecialTokens specials;

    protected Tokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        this.specials = new SpecialTokens(vocab);
    }

    /** The tokenizer for a vocabulary: SentencePiece for "llama", byte-level BPE for "gpt2". */
    public static Tokenizer of(Vocabulary v) {
        return switch (v.model()) {
            case SENTENCEPIECE -> new SentencePieceTokenizer(v);
            case BPE -> new BpeTokenizer(v, choosePre(v));
        };
    }

    public static Tokenizer fromGguf(Metadata md) {
        return of(Vocabulary.fromGguf(md));
    }

    /**
     * The tokenizer of a GGUF model, or of a Hugging Face {@code tokenizer.json} (also gzipped).
     * Problems with the tokenizer data are {@link TokenizerException}s that name the file.
     */
    public static Tokenizer load(java.nio.file.Path file) throws java.io.IOException {
        io.ternion.gguf.InputFiles.requireRegular(file);
        String name = file.getFileName().toString();
        if (name.endsWith(".json") || name.endsWith(".json.gz")) return of(HfTokenizerJson.read(file).vocabulary());
        try (io.ternion.gguf.GgufFile f = io.ternion.gguf.GgufFile.open(file)) {
            return fromGguf(f.metadata());
        } catch (TokenizerException e) {
            throw new TokenizerException(file + ": " + e.getMessage());
        }
    }

    /**
     * The pre-tokenizer named by the file. The official BitNet 2B4T GGUF names none; its
     * vocabulary is Llama 3's (128256 tokens, {@code <|begin_of_text|>} at 128000), whose regex it
     * needs. Other unnamed BPE vocabularies get llama.cpp's default, said once on stderr.
     */
    static PreTokenizer choosePre(Vocabulary v) {
        if (v.pre() != null) return PreTokenizer.forName(v.pre());
        if (v.size() >= 128256 && "<|begin_of_text|>".equals(v.token(128000))) {
            Log.info("tokenizer: no tokenizer.ggml.pre; the vocabulary is Llama 3's, using the llama-bpe pre-tokenizer");
            return PreTokenizer.llama3();
        }
        Log.info("tokenizer: no tokenizer.ggml.pre; using llama.cpp's default BPE pre-tokenizer");
        return PreTokenizer.forName("default");
    }

    public Vocabulary vocabulary() { return vocab; }

    /** Whether {@link #encode(String)} adds BOS: the file's add_bos_token, else the model family's habit. */
    public boolean addsBos() {
        Boolean b = vocab.addBosOrNull();
        return vocab.bos() != Vocabulary.NONE && (b != null ? b : defaultAddBos());
    }

    protected abstract boolean defaultAddBos();

    /** Encodes with the model's BOS habit, special-token text as plain text. */
    public int[] encode(String text) {
        return encode(text, addsBos(), false);
    }

    /**
     * @param addBos       prepend the BOS id (when the vocabulary has one)
     * @param parseSpecial treat control-token text such as {@code <|eot_id|>} as that token
     */
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList();
        if (addBos && vocab.bos() != Vocabulary.NONE) out.add(vocab.bos());
        boolean afterSpecial = true; // the start of the text counts as after a special token
        for (SpecialTokens.Fragment f : specials.partition(text, parseSpecial)) {
            if (f.isToken()) {
                out.add(f.token());
                afterSpecial = true;
            } else {
                encodeText(f.text(), afterSpecial, out);
                afterSpecial = false;
            }
        }
        return out.toArray();
    }

    /** Encodes plain text (no special tokens in it). */
    protected abstract void encodeText(String text, boolean afterSpecial, IntList out);

    /**
     * The bytes a token stands for. Control tokens are empty unless {@code special}; byte tokens are
     * their one byte, so a piece can be part of a UTF-8 character.
     */
    public abstract byte[] tokenBytes(int id, boolean special);

    /** Whether a token is a control token (BOS, EOS, chat markers): generation stops or hides them. */
    public boolean isControl(int id) {
        return vocab.type(id) == TokenType.CONTROL;
    }

    /** A token's piece for display ({@code --pieces}): its bytes as text, control tokens by name. */
    public String piece(int id) {
        return new String(tokenBytes(id, true), StandardCharsets.UTF_8);
    }

    /** Decodes ids to text, control tokens left out, as a streaming decoder would print it. */
    public String decode(int[] ids) {
        StreamingDecoder d = newDecoder();
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(d.next(id));
        return sb.append(d.flush()).toString();
    }

    /** A decoder that turns ids into text one at a time without splitting UTF-8 characters. */
    public StreamingDecoder newDecoder() {
        return new StreamingDecoder(this);
    }

    /** Whether the first piece's leading space is the one encoding added (SentencePiece). */
    protected boolean stripsLeadingSpace() {
        return false;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
