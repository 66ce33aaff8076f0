package io.ternion.tokenizer;

import io.ternion.gguf.GgufArray;
import io.ternion.gguf.GgufWriter;
import io.ternion.gguf.Metadata;
import io.ternion.gguf.MetadataType;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A tokenizer's data as GGUF stores it under {@code tokenizer.ggml.*}: the model kind, the
 * pre-tokenizer name, tokens with scores and types, BPE merges, and the special ids. Everything is
 * checked on construction: arrays agree in length and special ids are in range.
 */
public final class Vocabulary {
    /** {@code tokenizer.ggml.model}: "llama" is SentencePiece, "gpt2" is byte-level BPE. */
    public enum Model { SENTENCEPIECE, BPE }

    public static final int NONE = -1;

    private final Model model;
    private final String pre;
    private final String[] tokens;
    private final float[] scores;
    private final int[] types;
    private final String[] merges;
    private final int bos, eos, eot, unk, pad;
    private final Boolean addBos;
    private final boolean addSpacePrefix;
    private final Map<String, Integer> ids;

    public Vocabulary(Model model, String pre, String[] tokens, float[] scores, int[] types, String[] merges,
                      int bos, int eos, int eot, int unk, int pad, Boolean addBos, Boolean addSpacePrefix) {
        this.model = model;
        this.pre = pre;
        this.tokens = tokens;
        this.scores = scores;
        this.types = types != null ? types : filled(tokens.length, TokenType.NORMAL);
        this.merges = merges != null ? merges : new String[0];
        if (tokens.length == 0) throw new TokenizerException("the vocabulary has no tokens");
        if (scores != null && scores.length != tokens.length) {
            throw new TokenizerException("tokenizer.ggml.scores has " + scores.length + " entries but there are "
                    + tokens.length + " tokens");
        }
        if (this.types.length != tokens.length) {
            throw new TokenizerException("tokenizer.ggml.token_type has " + this.types.length + " entries but there are "
                    + tokens.length + " tokens");
        }
        if (model == Model.BPE && this.merges.length == 0) {
            throw new TokenizerException("a byte-level BPE vocabulary needs tokenizer.ggml.merges");
        }
        this.bos = checkId("bos", bos);
        this.eos = checkId("eos", eos);
        this.eot = checkId("eot", eot);
        this.unk = checkId("unknown", unk);
        this.pad = checkId("padding", pad);
        this.addBos = addBos;
        this.addSpacePrefix = addSpacePrefix != null ? addSpacePrefix : model == Model.SENTENCEPIECE;
        this.ids = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null) throw new TokenizerException("token " + i + " is missing");
            // A byte token stands for the byte its text names: decoding reads it from there.
            if (model == Model.SENTENCEPIECE && this.types[i] == TokenType.BYTE && !tokens[i].matches("<0x[0-9A-Fa-f]{2}>")) {
                throw new TokenizerException("token " + i + " is a byte token (tokenizer.ggml.token_type 6) but its text '" + tokens[i]
                        + "' is not of the form <0xNN>");
            }
            ids.putIfAbsent(tokens[i], i);
        }
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private int checkId(String what, int id) {
        if (id != NONE && (id < 0 || id >= tokens.length)) {
            throw new TokenizerException("the " + what + " token id " + Integer.toUnsignedString(id) + " is outside the "
                    + tokens.length + "-token vocabulary");
        }
        return id;
    }

    /** Reads {@code tokenizer.ggml.*}; a file without them is an error that says so. */
    public static Vocabulary fromGguf(Metadata md) {
        if (!md.has("tokenizer.ggml.model")) {
            throw new TokenizerException("the model has no tokenizer (no tokenizer.ggml.model key); give one with --tokenizer tokenizer.json");
        }
        String name = md.getString("tokenizer.ggml.model");
        Model model = switch (name) {
            case "llama" -> Model.SENTENCEPIECE;
            case "gpt2" -> Model.BPE;
            default -> throw new TokenizerException("tokenizer model '" + name
                    + "' is not supported (Ternion reads 'llama' (SentencePiece) and 'gpt2' (byte-level BPE))");
        };
        if (!md.has("tokenizer.ggml.tokens")) throw new TokenizerException("the model has no tokenizer.ggml.tokens");
        String[] tokens = md.getStringArray("tokenizer.ggml.tokens");
        float[] scores = md.has("tokenizer.ggml.scores") ? md.getFloatArray("tokenizer.ggml.scores") : null;
        int[] types = md.has("tokenizer.ggml.token_type") ? md.getIntArray("tokenizer.ggml.token_type") : null;
        String[] merges = md.has("tokenizer.ggml.merges") ? md.getStringArray("tokenizer.ggml.merges") : null;
        return new Vocabulary(model, md.getString("tokenizer.ggml.pre", null), tokens, scores, types, merges,
                id(md, "bos"), id(md, "eos"), id(md, "eot"), id(md, "unknown"), id(md, "padding"),
                md.has("tokenizer.ggml.add_bos_token") ? md.getBoolean("tokenizer.ggml.add_bos_token") : null,
                md.has("tokenizer.ggml.add_space_prefix") ? md.getBoolean("tokenizer.ggml.add_space_prefix") : null);
    }

    /** A special id; 0xFFFFFFFF (how converters write "none") and absence are {@link #NONE}. */
    private static int id(Metadata md, String name) {
        String key = "tokenizer.ggml." + name + "_token_id";
        if (!md.has(key)) return NONE;
        long v = md.getLong(key);
        return v == 0xFFFF_FFFFL || v == -1 ? NONE : (int) Math.min(v, Integer.MAX_VALUE);
    }

    /** Writes the vocabulary as {@code tokenizer.ggml.*} keys, as llama.cpp's converter does. */
    public void writeTo(GgufWriter w) {
        w.putString("tokenizer.ggml.model", model == Model.SENTENCEPIECE ? "llama" : "gpt2");
        if (pre != null) w.putString("tokenizer.ggml.pre", pre);
        w.putArray("tokenizer.ggml.tokens", GgufArray.ofStrings(tokens));
        if (scores != null) w.putArray("tokenizer.ggml.scores", GgufArray.ofFloats(scores));
        w.putArray("tokenizer.ggml.token_type", new GgufArray(MetadataType.INT32, types.clone()));
        if (merges.length > 0) w.putArray("tokenizer.ggml.merges", GgufArray.ofStrings(merges));
        if (bos != NONE) w.putUInt32("tokenizer.ggml.bos_token_id", bos);
        if (eos != NONE) w.putUInt32("tokenizer.ggml.eos_token_id", eos);
        if (eot != NONE) w.putUInt32("tokenizer.ggml.eot_token_id", eot);
        if (unk != NONE) w.putUInt32("tokenizer.ggml.unknown_token_id", unk);
        if (pad != NONE) w.putUInt32("tokenizer.ggml.padding_token_id", pad);
        if (addBos != null) w.putBool("tokenizer.ggml.add_bos_token", addBos);
    }

    public Model model() { return model; }
    /** {@code tokenizer.ggml.pre}, or null when the file has none. */
    public String pre() { return pre; }
    public int size() { return tokens.length; }
    public String token(int id) { return tokens[id]; }
    public float score(int id) { return scores != null ? scores[id] : 0f; }
    public boolean hasScores() { return scores != null; }
    public int type(int id) { return types[id]; }
    public String[] merges() { return merges; }
    /** The id of a token's exact text, or {@link #NONE}. */
    public int id(String token) { return ids.getOrDefault(token, NONE); }
    public int bos() { return bos; }
    public int eos() { return eos; }
    public int eot() { return eot; }
    public int unknown() { return unk; }
    public int padding() { return pad; }
    /** {@code tokenizer.ggml.add_bos_token}, or null when the file does not say. */
    public Boolean addBosOrNull() { return addBos; }
    public boolean addSpacePrefix() { return addSpacePrefix; }
}
