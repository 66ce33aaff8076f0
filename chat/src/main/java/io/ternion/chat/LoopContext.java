package io.ternion.chat;

import java.util.List;

/**
 * The {@code loop} variable inside a for loop body, for one iteration: {@code index} (from 1),
 * {@code index0}, {@code revindex}, {@code revindex0}, {@code first}, {@code last}, {@code length},
 * {@code previtem}, {@code nextitem}, {@code depth}, {@code depth0} and {@code cycle(...)}.
 */
final class LoopContext {
    private final List<Object> items;
    private final int index0;

    LoopContext(List<Object> items, int index0) {
        this.items = items;
        this.index0 = index0;
    }

    /** An attribute of the loop, or an undefined value for a name it does not have. */
    Object attribute(String name) {
        int length = items.size();
        return switch (name) {
            case "index" -> (long) index0 + 1;
            case "index0" -> (long) index0;
            case "revindex" -> (long) (length - index0);
            case "revindex0" -> (long) (length - index0 - 1);
            case "first" -> index0 == 0;
            case "last" -> index0 == length - 1;
            case "length" -> (long) length;
            case "depth" -> 1L;
            case "depth0" -> 0L;
            case "previtem" -> index0 > 0 ? items.get(index0 - 1) : Undefined.because("there is no previous item");
            case "nextitem" -> index0 < length - 1 ? items.get(index0 + 1) : Undefined.because("there is no next item");
            case "cycle" -> (TemplateCallable) (args, kwargs) -> {
                if (args.isEmpty()) throw new TemplateException("no items for cycling given");
                return args.get(index0 % args.size());
            };
            default -> Undefined.attribute(this, name);
        };
    }

    @Override
    public String toString() {
        return "<LoopContext " + (index0 + 1) + "/" + items.size() + ">";
    }
}
