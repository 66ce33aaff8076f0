package io.ternion.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Finds special tokens written out in text, leftmost-longest as Hugging Face's added-token matcher
 * does. User-defined tokens always match; control and unknown tokens only when the caller asks to
 * parse special text ({@code --special}), as in llama.cpp.
 */
final class SpecialTokens {
    /** A piece of the input: either raw text to tokenize or one special token id. */
    record Fragment(String text, int token) {
        boolean isToken() { return text == null; }
    }

    private final String[] texts;
    private final int[] ids;
    private final boolean[] controlLike;
    /** Indexes into texts/ids per first char, longest first. */
    private final int[][] byFirstChar = new int[65536][];

    SpecialTokens(Vocabulary v) {
        List<Integer> list = new ArrayList<>();
        for (int id = 0; id < v.size(); id++) {
            int t = v.type(id);
            if ((t == TokenType.CONTROL || t == TokenType.USER_DEFINED || t == TokenType.UNKNOWN) && !v.token(id).isEmpty()) {
                list.add(id);
            }
        }
        list.sort(Comparator.comparingInt((Integer id) -> -v.token(id).length()).thenComparingInt(id -> id));
        texts = new String[list.size()];
        ids = new int[list.size()];
        controlLike = new boolean[list.size()];
        List<List<Integer>> buckets = new ArrayList<>();
        for (int i = 0; i < 65536; i++) buckets.add(null);
        for (int i = 0; i < list.size(); i++) {
            int id = list.get(i);
            texts[i] = v.token(id);
            ids[i] = id;
            controlLike[i] = v.type(id) != TokenType.USER_DEFINED;
            char c = texts[i].charAt(0);
            if (buckets.get(c) == null) buckets.set(c, new ArrayList<>());
            buckets.get(c).add(i);
        }
        for (int c = 0; c < 65536; c++) {
            if (buckets.get(c) != null) byFirstChar[c] = buckets.get(c).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    List<Fragment> partition(String text, boolean parseSpecial) {
        List<Fragment> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < text.length(); ) {
            int[] candidates = byFirstChar[text.charAt(i)];
            int match = -1;
            if (candidates != null) {
                for (int k : candidates) {
                    if ((parseSpecial || !controlLike[k]) && text.startsWith(texts[k], i)) { match = k; break; }
                }
            }
            if (match < 0) { i++; continue; }
            if (i > start) out.add(new Fragment(text.substring(start, i), -1));
            out.add(new Fragment(null, ids[match]));
            i += texts[match].length();
            start = i;
        }
        if (start < text.length()) out.add(new Fragment(text.substring(start), -1));
        return out;
    }
}
