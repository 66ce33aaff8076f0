package io.ternion.chat;

import java.util.List;
import java.util.Map;

/** Anything a template can call: a global function, a macro, a bound method such as {@code text.strip}. */
@FunctionalInterface
interface TemplateCallable {
    Object call(List<Object> args, Map<String, Object> kwargs);
}
