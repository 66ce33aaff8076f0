package io.ternion.server;

import java.util.List;

/**
 * Cuts generated text at the first stop string. Text that could still turn out to be the start of
 * a stop string is held back until the next piece settles it, so a client never sees part of a
 * stop string (nor the stop string itself).
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean matched;

    StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    /** Takes the next piece; returns the text that can be shown now (possibly empty). */
    String accept(String piece) {
        if (matched) return "";
        pending.append(piece);
        int cut = -1;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0) {
            matched = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int keep = pendingStopPrefix();
        String out = pending.substring(0, pending.length() - keep);
        pending.delete(0, pending.length() - keep);
        return out;
    }

    /** Whether a stop string has appeared: the text ends here. */
    boolean matched() { return matched; }

    /** At the end of generation: what was held back, which no stop string can now complete. */
    String flush() {
        String out = pending.toString();
        pending.setLength(0);
        return out;
    }

    /** The longest end of the pending text that begins some stop string. */
    private int pendingStopPrefix() {
        int best = 0;
        String text = pending.toString();
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length()); k > best; k--) {
                if (text.regionMatches(text.length() - k, stop, 0, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }
}
