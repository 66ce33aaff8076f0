package io.ternion.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns token ids into text as they are generated. A UTF-8 character split over several tokens
 * (byte tokens, or byte-level BPE pieces of an emoji) is held back until it is complete, so valid
 * text never prints U+FFFD; bytes that can never become valid UTF-8 print as U+FFFD.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(64);
    private boolean atStart = true;

    StreamingDecoder(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Says that text comes before the tokens this decoder will see (a prompt they continue), so the
     * first one keeps its leading space: {@code ▁time} after "Once upon a" is " time".
     */
    public StreamingDecoder continuing() {
        atStart = false;
        return this;
    }

    /** The text that token {@code id} completes (possibly empty). */
    public String next(int id) {
        byte[] b = tokenizer.tokenBytes(id, false);
        if (b.length == 0) return "";
        if (atStart) {
            atStart = false;
            if (tokenizer.stripsLeadingSpace() && b[0] == ' ') b = java.util.Arrays.copyOfRange(b, 1, b.length);
        }
        if (pending.remaining() < b.length) {
            ByteBuffer bigger = ByteBuffer.allocate(pending.position() + b.length + 64);
            pending.flip();
            bigger.put(pending);
            pending = bigger;
        }
        pending.put(b);
        return drain(false);
    }

    /** Whatever is still held back, with incomplete characters as U+FFFD. */
    public String flush() {
        return drain(true);
    }

    private String drain(boolean endOfInput) {
        pending.flip();
        CharBuffer out = CharBuffer.allocate(pending.remaining() + 1);
        CoderResult r = utf8.decode(pending, out, endOfInput);
        if (endOfInput) {
            utf8.flush(out);
            utf8.reset();
        }
        if (r.isError()) throw new IllegalStateException(r.toString()); // REPLACE makes this unreachable
        pending.compact();
        return out.flip().toString();
    }
}
