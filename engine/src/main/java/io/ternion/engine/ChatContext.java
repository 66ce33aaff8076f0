package io.ternion.engine;

import io.ternion.chat.Message;
import io.ternion.graph.Log;
import java.util.ArrayList;
import java.util.List;

/**
 * A conversation kept inside a session's context, for {@code chat}: the system prompt stays, and
 * the oldest whole turns after it go when a new turn does not fit.
 */
public final class ChatContext {
    private ChatContext() {}

    /**
     * The tokens of {@code turns} (the conversation so far, ending with the new user turn) to
     * generate the answer from. With {@code contextShift}, a conversation that does not fit the
     * session's context loses its oldest whole turns after the leading system messages (from
     * {@code turns} itself, so the history stays what the cache holds) until it takes at most the
     * system prompt and half of the rest, as llama.cpp's shift discards half; said once on stderr.
     * The session is then set to keep the system prompt's tokens when the answer fills the context
     * ({@link Session#contextShift}). Without it, nothing is dropped and the session's shift is off:
     * a turn that does not fit is refused by {@link Session#checkPrompt}, as before.
     */
    public static int[] fit(Session session, ChatFormat format, List<Message> turns, boolean contextShift) {
        int[] tokens = format.encode(turns);
        if (!contextShift) {
            session.contextShift(-1);
            return tokens;
        }
        int ctx = session.contextLength(), first = 0;
        while (first < turns.size() - 1 && turns.get(first).role().equals("system")) first++;
        int keep = systemPrefix(format, turns, first, tokens);
        if (tokens.length >= ctx) {
            int before = tokens.length, dropped = 0, target = keep + (ctx - keep) / 2;
            while (tokens.length > target && first < turns.size() - 1) {
                // One turn: a user message and what answered it, up to the next user message (never the new turn).
                int end = first + 1;
                while (end < turns.size() - 1 && !turns.get(end).role().equals("user")) end++;
                turns.subList(first, end).clear();
                dropped++;
                tokens = format.encode(turns);
            }
            if (dropped > 0) {
                Log.info("context full: dropped the oldest " + (before - tokens.length) + " tokens (" + dropped
                        + (dropped == 1 ? " turn" : " turns") + ")");
            }
        }
        session.contextShift(Math.min(keep, tokens.length - 1));
        return tokens;
    }

    /**
     * How many leading tokens are the system prompt (and whatever the template writes before the
     * first turn's text): the tokens {@code tokens} shares with the same conversation with that
     * turn's text replaced, which the template renders identically up to where the text starts.
     */
    private static int systemPrefix(ChatFormat format, List<Message> turns, int first, int[] tokens) {
        List<Message> other = new ArrayList<>(turns);
        Message m = other.get(first);
        other.set(first, new Message(m.role(), m.content().startsWith("#") ? "@" : "#"));
        int[] b = format.encode(other);
        int shared = 0;
        while (shared < tokens.length && shared < b.length && tokens[shared] == b[shared]) shared++;
        return shared;
    }
}
