package io.ternion.kernels.gpu;

import io.ternion.gguf.GgmlType;

/**
 * A weight matrix on the device in its file's own packed layout: {@code rows} rows of {@code k}
 * elements, {@code rowBytes} apart. {@code tensorScale} is I2_S's one per-tensor scale (1 otherwise),
 * passed to the kernels as an argument.
 */
public record ClWeights(ClBuffer buffer, GgmlType type, int k, int rows, long rowBytes, float tensorScale) {}
