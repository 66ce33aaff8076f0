package io.ternion.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.PriorityQueue;

/**
 * SentencePiece BPE (GGUF {@code tokenizer.ggml.model = llama}) as llama.cpp runs it: spaces become
 * '▁' (with one prepended at the start and after special tokens), the text starts as one symbol per
 * character, and the adjacent pair whose merged text is the highest-scoring token merges first.
 * Merged symbols are always tokens; a single character that is not falls back to {@code <0xNN>}
 * byte tokens.
 */
final class SentencePieceTokenizer extends Tokenizer {
    private final int[] byteToken = new int[256];

    SentencePieceTokenizer(Vocabulary v) {
        super(v);
        for (int b = 0; b < 256; b++) byteToken[b] = v.id(String.format("<0x%02X>", b));
    }

    @Override
    protected boolean defaultAddBos() {
        return true;
    }

    @Override
    protected boolean stripsLeadingSpace() {
        return vocab.addSpacePrefix();
    }

    private record Bigram(float score, int left, int right, int size) {}

    @Override
    protected void encodeText(String text, boolean afterSpecial, IntList out) {
        if (vocab.addSpacePrefix() && afterSpecial) text = " " + text;
        text = text.replace(' ', '▁');
        // One symbol per code point, as a linked list over [start, end) ranges of text.
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n], end = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0, pos = 0; i < n; i++) {
            start[i] = pos;
            pos += Character.charCount(text.codePointAt(pos));
            end[i] = pos;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) ->
                a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        String t = text;
        for (int i = 0; i + 1 < n; i++) addBigram(t, start, end, i, i + 1, queue);
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = b.left, r = b.right;
            if (end[l] == start[l] || end[r] == start[r] || (end[l] - start[l]) + (end[r] - start[r]) != b.size) continue;
            if (next[l] != r) continue;
            end[l] = end[r];
            start[r] = end[r]; // emptied
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            if (prev[l] >= 0) addBigram(t, start, end, prev[l], l, queue);
            if (next[l] >= 0) addBigram(t, start, end, l, next[l], queue);
        }
        for (int i = 0; i >= 0 && i < n; i = next[i]) emit(t.substring(start[i], end[i]), out);
    }

    private void addBigram(String text, int[] start, int[] end, int left, int right, PriorityQueue<Bigram> queue) {
        String merged = text.substring(start[left], end[right]);
        int id = vocab.id(merged);
        if (id >= 0) queue.add(new Bigram(vocab.score(id), left, right, merged.length()));
    }

    private void emit(String symbol, IntList out) {
        int id = vocab.id(symbol);
        if (id >= 0) {
            out.add(id);
            return;
        }
        for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) {
            int t = byteToken[b & 0xFF];
            out.add(t >= 0 ? t : Math.max(vocab.unknown(), 0));
        }
    }

    @Override
    public byte[] tokenBytes(int id, boolean special) {
        String tok = vocab.token(id);
        return switch (vocab.type(id)) {
            case TokenType.CONTROL -> special ? utf8(tok) : new byte[0];
            case TokenType.BYTE -> new byte[] {(byte) Integer.parseInt(tok.substring(3, 5), 16)};
            case TokenType.UNKNOWN -> utf8(special ? tok : " \u2047 ");
            case TokenType.USER_DEFINED -> utf8(tok);
            default -> utf8(tok.replace('▁', ' '));
        };
    }
}
