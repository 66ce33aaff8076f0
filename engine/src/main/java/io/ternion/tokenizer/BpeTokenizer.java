package io.ternion.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE (GGUF {@code tokenizer.ggml.model = gpt2}) as llama.cpp runs it: pre-tokenize into
 * words, spell each word's UTF-8 bytes with GPT-2's byte characters, then repeatedly merge the
 * adjacent pair with the lowest merge rank (leftmost first). Llama 3 vocabularies skip merging for
 * words that are already a token ({@code ignore_merges}).
 */
final class BpeTokenizer extends Tokenizer {
    private static final int CACHE_LIMIT = 1 << 16;

    private final PreTokenizer pre;
    private final boolean ignoreMerges;
    /** (left id, right id) → (rank, merged id). */
    private final LongLongMap merges;
    /** The token id of each byte character, or NONE. */
    private final int[] charId = new int[512];
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    BpeTokenizer(Vocabulary v, PreTokenizer pre) {
        super(v);
        this.pre = pre;
        this.ignoreMerges = pre.name().equals("llama-bpe");
        for (int c = 0; c < charId.length; c++) charId[c] = v.id(String.valueOf((char) c));
        String[] m = v.merges();
        this.merges = new LongLongMap(m.length);
        for (int rank = 0; rank < m.length; rank++) {
            int sp = m[rank].indexOf(' ', 1);
            if (sp < 0) throw new TokenizerException("merge " + rank + " ('" + m[rank] + "') is not two tokens separated by a space");
            int left = v.id(m[rank].substring(0, sp)), right = v.id(m[rank].substring(sp + 1));
            int merged = v.id(m[rank].substring(0, sp) + m[rank].substring(sp + 1));
            if (left < 0 || right < 0 || merged < 0) continue; // a merge whose parts are not tokens can never apply
            long key = pair(left, right);
            if (merges.get(key) == LongLongMap.MISSING) merges.put(key, ((long) rank << 32) | merged);
        }
    }

    @Override
    protected boolean defaultAddBos() {
        return ignoreMerges; // Llama 3 adds BOS; GPT-2 style vocabularies do not
    }

    @Override
    protected void encodeText(String text, boolean afterSpecial, IntList out) {
        for (String word : pre.split(text)) {
            int[] ids = cache.get(word);
            if (ids == null) {
                ids = encodeWord(word);
                if (cache.size() >= CACHE_LIMIT) cache.clear();
                cache.put(word, ids);
            }
            out.addAll(ids);
        }
    }

    private int[] encodeWord(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        if (ignoreMerges) {
            int whole = vocab.id(ByteLevel.encode(bytes, 0, bytes.length));
            if (whole >= 0) return new int[] {whole};
        }
        int n = bytes.length;
        int[] id = new int[n], next = new int[n], prev = new int[n];
        for (int i = 0; i < n; i++) {
            id[i] = charId[ByteLevel.BYTE_TO_CHAR[bytes[i] & 0xFF]];
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        // Candidate merges as (rank << 32 | left position), smallest first; stale ones are skipped.
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) push(heap, id, i, i + 1);
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int left = (int) top, rank = (int) (top >>> 32);
            int right = left < n ? next[left] : -1;
            if (id[left] == Integer.MIN_VALUE || right < 0) continue;
            long m = merges.get(pair(id[left], id[right]));
            if (m == LongLongMap.MISSING || (int) (m >>> 32) != rank) continue;
            id[left] = (int) m;
            id[right] = Integer.MIN_VALUE; // removed
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) push(heap, id, prev[left], left);
            if (next[left] >= 0) push(heap, id, left, next[left]);
        }
        IntList out = new IntList();
        for (int i = 0; i >= 0 && i < n; i = next[i]) {
            if (id[i] >= 0) out.add(id[i]);
            // A byte with no token of its own cannot be encoded; llama.cpp drops it too.
        }
        return out.toArray();
    }

    private void push(LongHeap heap, int[] id, int left, int right) {
        if (id[left] < 0 || id[right] < 0) return;
        long m = merges.get(pair(id[left], id[right]));
        if (m != LongLongMap.MISSING) heap.push((m & 0xFFFF_FFFF_0000_0000L) | left);
    }

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFF_FFFFL);
    }

    @Override
    public byte[] tokenBytes(int id, boolean special) {
        int type = vocab.type(id);
        if (type == TokenType.CONTROL || type == TokenType.UNKNOWN) {
            return special ? utf8(vocab.token(id)) : new byte[0];
        }
        if (type == TokenType.USER_DEFINED) return utf8(vocab.token(id));
        return ByteLevel.decode(vocab.token(id));
    }

    /** An open-addressing long → long map; merges are looked up in the inner loop. */
    static final class LongLongMap {
        static final long MISSING = Long.MIN_VALUE;
        private final long[] keys, values;
        private final boolean[] used;
        private final int mask;

        LongLongMap(int expected) {
            int cap = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
            keys = new long[cap];
            values = new long[cap];
            used = new boolean[cap];
            mask = cap - 1;
        }

        private int slot(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 29)) & mask;
        }

        long get(long k) {
            for (int i = slot(k); used[i]; i = (i + 1) & mask) if (keys[i] == k) return values[i];
            return MISSING;
        }

        void put(long k, long v) {
            int i = slot(k);
            while (used[i] && keys[i] != k) i = (i + 1) & mask;
            used[i] = true;
            keys[i] = k;
            values[i] = v;
        }
    }

    /** A binary min-heap of longs. */
    static final class LongHeap {
        private long[] a;
        private int n;

        LongHeap(int capacity) { a = new long[Math.max(4, capacity)]; }

        boolean isEmpty() { return n == 0; }

        void push(long v) {
            if (n == a.length) a = Arrays.copyOf(a, n * 2);
            int i = n++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) break;
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long pop() {
            long top = a[0], v = a[--n];
            int i = 0;
            while (true) {
                int c = 2 * i + 1;
                if (c >= n) break;
                if (c + 1 < n && a[c + 1] < a[c]) c++;
                if (a[c] >= v) break;
                a[i] = a[c];
                i = c;
            }
            a[i] = v;
            return top;
        }
    }
}
