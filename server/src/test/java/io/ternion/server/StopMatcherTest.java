package io.ternion.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {
    /** Feeds the pieces; returns what was shown, with "|" between the pieces' outputs, then the flush. */
    private static String feed(StopMatcher m, String... pieces) {
        StringBuilder out = new StringBuilder();
        for (String p : pieces) out.append(m.accept(p)).append('|');
        return out.append(m.flush()).toString();
    }

    @Test
    void aStopStringAcrossPiecesIsHeldBackThenCutOut() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("Hello |||", feed(m, "Hello E", "N", "D and more"));
        assertTrue(m.matched());
    }

    @Test
    void aPrefixThatDoesNotGoOnIsReleased() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertEquals("Hello |ENO|Dx|", feed(m, "Hello E", "NO", "Dx"));
        assertFalse(m.matched());
    }

    @Test
    void theEarliestOfSeveralStopsWinsAndTheTailIsReleasedAtTheEnd() {
        StopMatcher m = new StopMatcher(List.of("cat", "at"));
        assertEquals("the |", feed(m, "the cat sat"));
        assertTrue(m.matched());
        StopMatcher n = new StopMatcher(List.of("\n\n"));
        assertEquals("a|\nb|\n", feed(n, "a\n", "b\n"));
    }
}
