package io.ternion.chat;

/**
 * The Jinja2 environment switches that change how template text around tags is kept.
 *
 * <p>{@code transformers} compiles chat templates with
 * {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[..., loopcontrols])}
 * (see {@code _compile_jinja_template} in {@code transformers/utils/chat_template_utils.py}), leaving
 * {@code keep_trailing_newline} at Jinja2's default, false. That is {@link #TRANSFORMERS}, the default
 * everywhere in this package. {@link #JINJA2_DEFAULTS} is a plain {@code jinja2.Environment()}.
 *
 * @param trimBlocks          drop the first newline after a block tag ({@code %}}) or comment ({@code #}})
 * @param lstripBlocks        drop spaces and tabs from the start of a line up to a block tag or comment
 * @param keepTrailingNewline keep the single newline that ends the template source (Jinja2 drops it)
 */
public record TemplateOptions(boolean trimBlocks, boolean lstripBlocks, boolean keepTrailingNewline) {
    /** What {@code transformers}' {@code apply_chat_template} uses. */
    public static final TemplateOptions TRANSFORMERS = new TemplateOptions(true, true, false);

    /** A default {@code jinja2.Environment()}. */
    public static final TemplateOptions JINJA2_DEFAULTS = new TemplateOptions(false, false, false);
}
