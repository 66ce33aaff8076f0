package io.ternion.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.gguf.InputFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Reads a Hugging Face {@code tokenizer.json} (optionally gzipped) as a {@link Vocabulary}, so a
 * model can be run or a GGUF written with the real Llama 3 or Qwen vocabulary. Byte-level BPE only;
 * the pre-tokenizer is recognised from its regex. Special ids and the chat template come from the
 * {@code tokenizer_config.json} beside it when there is one.
 */
public final class HfTokenizerJson {
    private HfTokenizerJson() {}

    /** A tokenizer.json's vocabulary and, from its config, the chat template (or null). */
    public record Result(Vocabulary vocabulary, String chatTemplate) {}

    private static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    public static Result read(Path path) throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode root;
        try (InputStream in = open(path)) {
            root = json.readTree(in);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new TokenizerException(path + ": not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode model = root.path("model");
        if (!"BPE".equals(model.path("type").asText())) {
            throw new TokenizerException(path + ": model type '" + model.path("type").asText()
                    + "' is not supported; Ternion reads byte-level BPE tokenizer.json files");
        }
        String pre = preName(path, root.path("pre_tokenizer"));

        JsonNode vocabNode = model.path("vocab");
        int size = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) size = Math.max(size, it.next().getValue().asInt() + 1);
        for (JsonNode t : root.path("added_tokens")) size = Math.max(size, t.path("id").asInt() + 1);
        if (size == 0) throw new TokenizerException(path + ": the vocabulary is empty");
        String[] tokens = new String[size];
        int[] types = new int[size];
        Arrays.fill(types, TokenType.NORMAL);
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            tokens[e.getValue().asInt()] = e.getKey();
        }
        for (JsonNode t : root.path("added_tokens")) {
            int id = t.path("id").asInt();
            tokens[id] = t.path("content").asText();
            types[id] = t.path("special").asBoolean() ? TokenType.CONTROL : TokenType.USER_DEFINED;
        }
        for (int i = 0; i < size; i++) {
            if (tokens[i] == null) {
                tokens[i] = "[PAD" + i + "]"; // ids the file leaves out, as llama.cpp's converter fills them
                types[i] = TokenType.UNUSED;
            }
        }
        JsonNode mergesNode = model.path("merges");
        String[] merges = new String[mergesNode.size()];
        for (int i = 0; i < merges.length; i++) {
            JsonNode m = mergesNode.get(i);
            merges[i] = m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText();
        }

        JsonNode config = readConfig(json, path);
        Vocabulary probe = new Vocabulary(Vocabulary.Model.BPE, pre, tokens, null, types, merges,
                -1, -1, -1, -1, -1, null, false);
        int bos = special(probe, config.path("bos_token"));
        int eos = special(probe, config.path("eos_token"));
        int pad = special(probe, config.path("pad_token"));
        int eot = Vocabulary.NONE;
        for (String name : new String[] {"<|eot_id|>", "<|im_end|>", "<|end|>"}) {
            if (probe.id(name) >= 0) { eot = probe.id(name); break; }
        }
        Boolean addBos = config.has("add_bos_token") ? config.get("add_bos_token").asBoolean() : null;
        Vocabulary v = new Vocabulary(Vocabulary.Model.BPE, pre, tokens, null, types, merges,
                bos, eos, eot, Vocabulary.NONE, pad, addBos, false);
        JsonNode template = config.path("chat_template");
        return new Result(v, template.isTextual() ? template.asText() : null);
    }

    /** Far above any real tokenizer.json (Gemma's, the largest we know, is about 33 MB); bounds what a gzip file may unpack to. */
    static final long MAX_BYTES = 256L << 20;

    private static InputStream open(Path path) throws IOException {
        InputFiles.requireRegular(path);
        InputStream in = Files.newInputStream(path);
        if (path.getFileName().toString().endsWith(".gz")) in = new GZIPInputStream(in, 1 << 16);
        return InputFiles.bounded(in, MAX_BYTES, path.toString(), "a tokenizer");
    }

    /** tokenizer_config.json beside the file (also {@code NAME_config.json} for {@code NAME.json[.gz]}). */
    private static JsonNode readConfig(ObjectMapper json, Path path) throws IOException {
        String name = path.getFileName().toString().replaceFirst("\\.gz$", "").replaceFirst("\\.json$", "");
        for (Path c : new Path[] {path.resolveSibling(name + "_config.json"), path.resolveSibling("tokenizer_config.json")}) {
            if (Files.isRegularFile(c)) return json.readTree(InputFiles.readAtMost(c, MAX_BYTES, "a tokenizer config"));
        }
        return json.createObjectNode();
    }

    private static int special(Vocabulary v, JsonNode token) {
        String text = token.isTextual() ? token.asText() : token.path("content").asText(null);
        return text == null ? Vocabulary.NONE : v.id(text);
    }

    private static String preName(Path path, JsonNode pre) {
        String regex = null;
        boolean byteLevelRegex = false;
        for (JsonNode p : pre.path("type").asText().equals("Sequence") ? pre.path("pretokenizers") : java.util.List.of(pre)) {
            if (p.path("type").asText().equals("Split")) regex = p.path("pattern").path("Regex").asText(null);
            if (p.path("type").asText().equals("ByteLevel") && p.path("use_regex").asBoolean(true)) byteLevelRegex = true;
        }
        if (LLAMA3_REGEX.equals(regex)) return "llama-bpe";
        if (QWEN2_REGEX.equals(regex)) return "qwen2";
        if (regex == null && byteLevelRegex) return "gpt-2";
        throw new TokenizerException(path + ": its pre_tokenizer is not one Ternion recognises (Llama 3, Qwen2 or GPT-2 byte-level)");
    }
}
