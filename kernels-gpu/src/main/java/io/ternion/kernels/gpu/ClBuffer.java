package io.ternion.kernels.gpu;

import java.lang.foreign.MemorySegment;

/** A device buffer, released with the {@link ClContext} that made it. */
public record ClBuffer(MemorySegment handle, long bytes) {}
