package io.ternion.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressTest {
    private final List<String> written = new ArrayList<>();
    /** The clock the reporter reads: tests move it by hand. */
    private long now;

    private Progress progress(boolean terminal, long total, Progress.Unit unit) {
        return new Progress("repacking weights", "repacked weights", total, unit, terminal, written::add, () -> now);
    }

    @Test
    void theBarShowsFractionAmountAndRate() {
        assertEquals("repacking weights [==========>         ]  50%  128.0 of 256.0 MiB, 64.0 MiB/s",
                Progress.bar("repacking weights", 128L << 20, 256L << 20, 2.0, Progress.Unit.BYTES));
        assertEquals("evaluating [>                   ]   0%  0 of 2048 tokens",
                Progress.bar("evaluating", 0, 2048, 0, Progress.Unit.TOKENS));
        assertEquals("evaluating [====================] 100%  2048 of 2048 tokens, 1024.0 tok/s",
                Progress.bar("evaluating", 2048, 2048, 2.0, Progress.Unit.TOKENS));
        // A part reads in its whole's unit; an unknown total has no bar.
        assertEquals("downloading [>                   ]   0%  0.00 of 1.00 GiB", Progress.bar("downloading", 1000, 1L << 30, 0, Progress.Unit.BYTES));
        assertEquals("downloading 3.0 MiB, 1.5 MiB/s", Progress.bar("downloading", 3L << 20, -1, 2.0, Progress.Unit.BYTES));
    }

    @Test
    void theSummaryLineSaysHowMuchHowLongAndHowFast() {
        assertEquals("repacked weights: 1.50 GiB in 3.0 s (512.0 MiB/s)", Progress.summary("repacked weights", 3L << 29, 3.0, Progress.Unit.BYTES));
        assertEquals("evaluated: 100 tokens in 0.0 s", Progress.summary("evaluated", 100, 0, Progress.Unit.TOKENS));
    }

    @Test
    void offATerminalOnlyTheFinalLineIsWritten() {
        Progress p = progress(false, 300L << 20, Progress.Unit.BYTES);
        for (int i = 0; i < 300; i++) {
            now += 50_000_000;
            p.advance(1L << 20);
        }
        assertTrue(written.isEmpty(), written::toString);
        p.done();
        p.done(); // once only
        assertEquals(List.of("ternion: repacked weights: 300.0 MiB in 15.0 s (20.0 MiB/s)\n"), written);
    }

    @Test
    void offATerminalClearWritesNothing() {
        Progress p = progress(false, 10, Progress.Unit.TOKENS);
        p.advance(10);
        p.clear();
        assertTrue(written.isEmpty(), written::toString);
    }

    @Test
    void onATerminalTheBarIsRedrawnAtMostTenTimesASecondThenReplacedByTheFinalLine() {
        Progress p = progress(true, 100, Progress.Unit.TOKENS);
        p.advance(1); // the first step is drawn at once
        now += 10_000_000;
        p.advance(1); // 10 ms later: too soon
        now += 100_000_000;
        p.advance(1);
        now += 1_000_000;
        p.advance(97); // the last step is always drawn
        assertEquals(3, written.size(), written::toString);
        for (String s : written) assertTrue(s.startsWith("\rternion: repacking weights [") && !s.contains("\n"), s);
        assertTrue(written.get(2).contains("100%  100 of 100 tokens"), written.get(2));
        p.done();
        String last = written.getLast();
        assertTrue(last.startsWith("\rternion: repacked weights: 100 tokens in 0.1 s") && last.endsWith("\n"), last);
        // Padded to cover the longer bar it replaces.
        assertTrue(last.length() - 2 >= written.get(2).length() - 1, last);
    }

    @Test
    void onATerminalClearWipesTheBar() {
        Progress p = progress(true, 100, Progress.Unit.TOKENS);
        p.advance(50);
        p.clear();
        String wipe = written.getLast();
        assertEquals("\r" + " ".repeat(written.getFirst().length() - 1) + "\r", wipe);
        p.advance(10);
        assertEquals(2, written.size(), "nothing is drawn after the end");
    }

    @Test
    void aNoteWipesAnOpenBarFirst() {
        List<String> notes = new ArrayList<>();
        Log.setProgressSink(written::add);
        Log.setSink(notes::add);
        try {
            Log.progressText("\rternion: repacking weights [>   ]");
            Log.info("a note");
            assertEquals("\r" + " ".repeat("ternion: repacking weights [>   ]".length()) + "\r", written.getLast());
            assertEquals(List.of("ternion: a note"), notes);
            Log.progressText("\rternion: repacked weights: 1 B in 0.1 s\n");
            int before = written.size();
            Log.info("another note");
            assertEquals(before, written.size(), "an ended line needs no wiping");
        } finally {
            Log.setProgressSink(null);
            Log.setSink(null);
        }
    }

    @Test
    void theLaunchersSayWhetherStderrIsATerminal() {
        assertTrue(Log.interactive("1"));
        assertFalse(Log.interactive("0"));
    }
}
