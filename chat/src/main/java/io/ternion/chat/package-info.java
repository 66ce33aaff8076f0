/**
 * Chat templates: renders the Hugging Face Jinja2 template a GGUF carries in
 * {@code tokenizer.chat_template} the way {@code transformers}' {@code apply_chat_template} does.
 *
 * <p>There is no third-party Jinja library here. The package implements the subset of Jinja2 that chat
 * templates use, as a pipeline with one class per stage: {@link io.ternion.chat.Lexer} (template text to
 * tokens, including Jinja's whitespace control), {@link io.ternion.chat.Parser} (tokens to the syntax
 * trees {@link io.ternion.chat.Node} and {@link io.ternion.chat.Expr}), {@link io.ternion.chat.Renderer}
 * (walks the tree). Python's value semantics, which a template inherits from Jinja2, live in
 * {@link io.ternion.chat.Values} and {@link io.ternion.chat.PyText}; the built-in filters, tests,
 * methods and global functions each have their own class. The public surface is
 * {@link io.ternion.chat.ChatTemplate}, {@link io.ternion.chat.Message},
 * {@link io.ternion.chat.TemplateOptions}, {@link io.ternion.chat.Limits} and
 * {@link io.ternion.chat.TemplateException}.
 *
 * <p>A template is untrusted input (a GGUF file carries its own). {@link io.ternion.chat.Limits} bounds
 * its nesting, loops, sizes and time; the parser and renderer count their depth rather than rely on the
 * Java stack, and {@link io.ternion.chat.Guard} carries a render's limits to the value operations.
 */
package io.ternion.chat;
