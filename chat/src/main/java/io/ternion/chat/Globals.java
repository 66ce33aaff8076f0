package io.ternion.chat;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The functions a chat template can call by name: Jinja2's {@code range}, {@code dict} and
 * {@code namespace}, and what transformers adds, {@code raise_exception(message)} and
 * {@code strftime_now(format)}.
 */
final class Globals {
    private Globals() {}

    static Map<String, Object> all() {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("range", (TemplateCallable) Globals::range);
        g.put("dict", (TemplateCallable) (args, kwargs) -> dict("dict", args, kwargs));
        g.put("namespace", (TemplateCallable) (args, kwargs) -> {
            Namespace ns = new Namespace();
            dict("namespace", args, kwargs).forEach((k, v) -> ns.attributes.put(PyText.str(k), v));
            return ns;
        });
        g.put("raise_exception", (TemplateCallable) (args, kwargs) -> {
            Object message = Args.bind("raise_exception", args, kwargs, new String[] {"message"}, Args.REQUIRED)[0];
            throw new TemplateException(PyText.str(message));
        });
        g.put("strftime_now", (TemplateCallable) (args, kwargs) -> {
            Object format = Args.bind("strftime_now", args, kwargs, new String[] {"format"}, Args.REQUIRED)[0];
            return strftime(Args.string("strftime_now", format), LocalDateTime.now());
        });
        return g;
    }

    private static Object range(List<Object> args, Map<String, Object> kwargs) {
        if (!kwargs.isEmpty()) throw Values.typeError("range() takes no keyword arguments");
        if (args.isEmpty() || args.size() > 3) throw Values.typeError("range expected 1 to 3 arguments, got " + args.size());
        long start = args.size() == 1 ? 0 : Args.integer("range", args.get(0));
        long stop = Args.integer("range", args.get(args.size() == 1 ? 0 : 1));
        long step = args.size() == 3 ? Args.integer("range", args.get(2)) : 1;
        if (step == 0) throw new TemplateException("ValueError: range() arg 3 must not be zero");
        long count = step > 0 ? Math.max(0, Math.ceilDiv(stop - start, step)) : Math.max(0, Math.ceilDiv(start - stop, -step));
        if (count > Limits.MAX_RANGE) { // Jinja2's sandbox, word for word
            throw new TemplateException("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + Limits.MAX_RANGE + ").");
        }
        List<Object> out = new ArrayList<>((int) count);
        for (long k = 0; k < count; k++) out.add(start + k * step);
        return out;
    }

    /** Python's {@code dict(mapping_or_pairs, **kwargs)}. */
    private static Map<Object, Object> dict(String function, List<Object> args, Map<String, Object> kwargs) {
        if (args.size() > 1) throw Values.typeError(function + " expected at most 1 argument, got " + args.size());
        Map<Object, Object> out = new LinkedHashMap<>();
        if (!args.isEmpty()) {
            Object source = args.getFirst();
            if (source instanceof Map<?, ?> m) {
                out.putAll(m);
            } else {
                for (Object pair : Values.iterate(source)) {
                    List<Object> kv = Values.iterate(pair);
                    if (kv.size() != 2) throw new TemplateException("ValueError: dictionary update sequence element has length " + kv.size() + "; 2 is required");
                    out.put(kv.get(0), kv.get(1));
                }
            }
        }
        out.putAll(kwargs);
        return out;
    }

    /** C's strftime for the directives chat templates use (e.g. Llama 3.1's {@code "%d %b %Y"}), in the C locale. */
    static String strftime(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            boolean noPad = d == '-' && i + 1 < format.length(); // glibc's %-d: no zero padding
            if (noPad) d = format.charAt(++i);
            String out = switch (d) {
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'd' -> pad(t.getDayOfMonth(), 2, noPad);
                case 'e' -> noPad ? Integer.toString(t.getDayOfMonth()) : String.format("%2d", t.getDayOfMonth());
                case 'm' -> pad(t.getMonthValue(), 2, noPad);
                case 'y' -> pad(t.getYear() % 100, 2, noPad);
                case 'Y' -> Integer.toString(t.getYear());
                case 'H' -> pad(t.getHour(), 2, noPad);
                case 'I' -> pad(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, noPad);
                case 'M' -> pad(t.getMinute(), 2, noPad);
                case 'S' -> pad(t.getSecond(), 2, noPad);
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'j' -> pad(t.getDayOfYear(), 3, noPad);
                case 'F' -> String.format("%04d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth());
                case '%' -> "%";
                default -> throw new TemplateException("strftime directive %" + d + " is not supported");
            };
            sb.append(out);
        }
        return sb.toString();
    }

    private static String pad(int value, int width, boolean noPad) {
        return noPad ? Integer.toString(value) : String.format("%0" + width + "d", value);
    }
}
