package io.ternion.kernels.gpu;

import static io.ternion.kernels.gpu.OpenCl.call;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Device time per kernel name, from the queue's profiling events: each profiled launch leaves an
 * event, and {@link #collect} (after the queue has finished) adds up their start-to-end times.
 */
public final class KernelProfile {
    private final ClContext ctx;
    private final List<String> names = new ArrayList<>();
    private final List<MemorySegment> events = new ArrayList<>();
    private final Map<String, long[]> totals = new LinkedHashMap<>(); // name -> {calls, nanoseconds}

    public KernelProfile(ClContext ctx) {
        this.ctx = ctx;
    }

    /** Where the next launch of {@code kernel} puts its event. */
    MemorySegment slot(String kernel) {
        names.add(kernel);
        return ctx.arena.allocate(ADDRESS);
    }

    void pending(MemorySegment slot) {
        events.add(slot.get(ADDRESS, 0));
    }

    /** Reads and releases the events of everything launched since the last call; the queue must have finished. */
    public void collect() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment start = a.allocate(JAVA_LONG), end = a.allocate(JAVA_LONG);
            for (int i = 0; i < events.size(); i++) {
                MemorySegment e = events.get(i);
                call("clGetEventProfilingInfo", ctx.cl.getEventProfilingInfo, e, OpenCl.PROFILING_COMMAND_START, 8L, start, MemorySegment.NULL);
                call("clGetEventProfilingInfo", ctx.cl.getEventProfilingInfo, e, OpenCl.PROFILING_COMMAND_END, 8L, end, MemorySegment.NULL);
                call("clReleaseEvent", ctx.cl.releaseEvent, e);
                long[] t = totals.computeIfAbsent(names.get(i), k -> new long[2]);
                t[0]++;
                t[1] += end.get(JAVA_LONG, 0) - start.get(JAVA_LONG, 0);
            }
        }
        names.clear();
        events.clear();
    }

    /** One line per kernel, the most expensive first: calls, total milliseconds and share of device time. */
    public List<String> report() {
        long all = totals.values().stream().mapToLong(t -> t[1]).sum();
        return totals.entrySet().stream()
                .sorted((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]))
                .map(e -> String.format(Locale.ROOT, "%-20s %7d calls %10.1f ms %5.1f%%", e.getKey(), e.getValue()[0],
                        e.getValue()[1] / 1e6, 100.0 * e.getValue()[1] / Math.max(1, all)))
                .toList();
    }
}
