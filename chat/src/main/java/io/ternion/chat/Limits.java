package io.ternion.chat;

import java.time.Duration;
import java.util.Objects;

/**
 * What one template may cost. A GGUF file carries its own chat template, so the template is hostile
 * input: a template that recurses, loops or grows without end must fail with a
 * {@link TemplateException} that names the limit, never hang, never exhaust the heap, never overflow the
 * Java stack. Jinja2's {@code SandboxedEnvironment} (which transformers uses) and llama.cpp's Jinja
 * engine bound templates the same way; {@link #MAX_RANGE} is the sandbox's own number.
 *
 * <p>The defaults ({@link #DEFAULT}, the constants below) are far above what real chat templates need:
 * the Llama 3, Qwen3 and BitNet templates nest under 15 deep, call no macro recursively and loop a few
 * times per message. Sizes are in Java characters (UTF-16 units) and in items of a list, tuple or dict.
 *
 * @param maxNestingDepth    how deeply blocks and expressions may nest in the template source: checked
 *                           while parsing (parentheses, brackets, unary operators, tags inside tags) and
 *                           on the syntax tree (chains such as {@code a + b + c} or {@code x | f | g})
 * @param maxRenderDepth     how deeply statements, expressions and macro calls may be in progress at once
 *                           while rendering, and how deeply a value may nest (a list in a list ...) when it
 *                           is printed, serialised or compared
 * @param maxMacroDepth      how many macro calls may be in progress at once (recursion)
 * @param maxLoopIterations  for-loop iterations in one render, all loops together (each item a loop
 *                           visits counts once, whether or not its inline {@code if} keeps it)
 * @param maxOutputLength    characters one render may produce
 * @param maxStringLength    characters of any one string the template makes (by {@code +}, {@code ~},
 *                           {@code *}, {@code join}, {@code replace}, {@code tojson}, printing a list ...),
 *                           checked before it is allocated; strings the caller passes in are not limited
 * @param maxListLength      items of any one list, tuple or dict the template makes ({@code *}, {@code +},
 *                           {@code split}, iterating a string ...), checked before it is allocated
 * @param maxCreatedSize     characters and items of all the strings, lists and dicts the template's
 *                           operations produce in one render, together: what keeps a loop that keeps many
 *                           large values alive within the heap
 * @param maxRenderTime      wall time of one render
 */
public record Limits(int maxNestingDepth, int maxRenderDepth, int maxMacroDepth, long maxLoopIterations,
                     long maxOutputLength, int maxStringLength, int maxListLength, long maxCreatedSize,
                     Duration maxRenderTime) {
    /**
     * Jinja2's parser needs about 13 Python frames per parenthesis, so under Python's recursion limit
     * of 1000 it fails at about 75 levels. Here a level costs the parser up to 2.5 KB of Java stack.
     */
    public static final int MAX_NESTING_DEPTH = 100;
    /** Under 512 KB of Java stack (up to 1 KB a level), within a thread's default 1 MB. */
    public static final int MAX_RENDER_DEPTH = 500;
    public static final int MAX_MACRO_DEPTH = 100;
    /**
     * As many as one {@code range()} of the largest size the sandbox allows; real templates loop a few
     * times per message. At about a microsecond an iteration this stays far below the wall time.
     */
    public static final long MAX_LOOP_ITERATIONS = 100_000;
    /** 64 Mi characters, about 16 million tokens: a hundred times the longest context. */
    public static final long MAX_OUTPUT_LENGTH = 64L << 20;
    /** 16 Mi characters. */
    public static final int MAX_STRING_LENGTH = 16 << 20;
    public static final int MAX_LIST_LENGTH = 1_000_000;
    /** 256 Mi characters and items: at most about 512 MB of strings alive. */
    public static final long MAX_CREATED_SIZE = 256L << 20;
    public static final Duration MAX_RENDER_TIME = Duration.ofSeconds(5);
    /** Jinja2's sandbox refuses {@code range()} of more items than this ({@code MAX_RANGE}); not configurable. */
    public static final long MAX_RANGE = 100_000;

    /** The limits {@link ChatTemplate#compile(String)} uses. */
    public static final Limits DEFAULT = new Limits(MAX_NESTING_DEPTH, MAX_RENDER_DEPTH, MAX_MACRO_DEPTH,
            MAX_LOOP_ITERATIONS, MAX_OUTPUT_LENGTH, MAX_STRING_LENGTH, MAX_LIST_LENGTH, MAX_CREATED_SIZE, MAX_RENDER_TIME);

    public Limits {
        Objects.requireNonNull(maxRenderTime, "maxRenderTime");
        if (maxNestingDepth < 1 || maxRenderDepth < 1 || maxMacroDepth < 1 || maxLoopIterations < 0 || maxOutputLength < 0
                || maxStringLength < 0 || maxListLength < 0 || maxCreatedSize < 0 || maxRenderTime.isNegative()) {
            throw new IllegalArgumentException("limits must be positive: " + maxNestingDepth + ", " + maxRenderDepth + ", "
                    + maxMacroDepth + ", " + maxLoopIterations + ", " + maxOutputLength + ", " + maxStringLength + ", "
                    + maxListLength + ", " + maxCreatedSize + ", " + maxRenderTime);
        }
    }

    /** These limits with another wall time per render. */
    public Limits withMaxRenderTime(Duration time) {
        return new Limits(maxNestingDepth, maxRenderDepth, maxMacroDepth, maxLoopIterations, maxOutputLength,
                maxStringLength, maxListLength, maxCreatedSize, time);
    }
}
