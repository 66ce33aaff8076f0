package io.ternion.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the words that byte-level BPE merges within, the way {@code tokenizer.ggml.pre}
 * names it. Each scheme is a sequence of regexes applied one after another, as llama.cpp does (and
 * as Hugging Face's "Isolated" splits do): a regex splits every current piece into its matches and
 * the text between them, both kept.
 */
public final class PreTokenizer {
    private static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String LLAMA3 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private final String name;
    private final Pattern[] patterns;
    private final boolean nfc;

    private PreTokenizer(String name, boolean nfc, String... regexes) {
        this.name = name;
        this.nfc = nfc;
        this.patterns = new Pattern[regexes.length];
        // \s and the rest must be Unicode-aware, as in llama.cpp and Hugging Face, not ASCII-only.
        for (int i = 0; i < regexes.length; i++) patterns[i] = Pattern.compile(regexes[i], Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** The scheme for a {@code tokenizer.ggml.pre} value; an unknown value is an error naming it. */
    public static PreTokenizer forName(String pre) {
        return switch (pre) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "dbrx", "smaug-bpe" ->
                    new PreTokenizer("llama-bpe", false, LLAMA3);
            case "qwen2", "deepseek-r1-qwen", "megrez" -> new PreTokenizer("qwen2", true, QWEN2);
            case "gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "roberta-bpe", "jina-es", "jina-de",
                 "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code", "gigachat" -> new PreTokenizer("gpt-2", false, GPT2);
            case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b" ->
                    new PreTokenizer("starcoder", false, "\\p{N}", GPT2);
            case "falcon" -> new PreTokenizer("falcon", false, "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]");
            case "deepseek-coder" -> new PreTokenizer("deepseek-coder", false,
                    "[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}");
            case "default" -> new PreTokenizer("default", false,
                    "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]");
            default -> throw new TokenizerException("unknown pre-tokenizer '" + pre + "' (tokenizer.ggml.pre); Ternion knows "
                    + "llama-bpe (llama3), qwen2, gpt-2, starcoder, falcon, deepseek-coder and default");
        };
    }

    /** The Llama-3 regex with no name in the file; for detection. */
    static PreTokenizer llama3() { return forName("llama-bpe"); }

    public String name() { return name; }

    /** Splits {@code text} into words. */
    public List<String> split(String text) {
        if (nfc && !Normalizer.isNormalized(text, Normalizer.Form.NFC)) text = Normalizer.normalize(text, Normalizer.Form.NFC);
        List<String> pieces = List.of(text);
        for (Pattern p : patterns) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (String piece : pieces) {
                Matcher m = p.matcher(piece);
                int last = 0;
                while (m.find()) {
                    if (m.start() == m.end()) continue; // an empty match splits nothing
                    if (m.start() > last) next.add(piece.substring(last, m.start()));
                    next.add(piece.substring(m.start(), m.end()));
                    last = m.end();
                }
                if (last < piece.length()) next.add(piece.substring(last));
            }
            pieces = next;
        }
        return pieces;
    }
}
