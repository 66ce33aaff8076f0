package io.ternion.cli;

import static io.ternion.harness.Units.bytes;
import static io.ternion.harness.Units.count;

import io.ternion.engine.ModelSummary;
import io.ternion.gguf.GgmlType;
import io.ternion.gguf.GgufArray;
import io.ternion.gguf.GgufFile;
import io.ternion.gguf.Metadata;
import io.ternion.gguf.MetadataType;
import io.ternion.gguf.MetadataValue;
import io.ternion.gguf.TensorInfo;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ternion info}: what a GGUF file holds, for people and (with --json) for machines. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a GGUF model's architecture, hyperparameters, tokenizer and tensors.")
final class InfoCommand implements Callable<Integer> {

    @Option(names = {"-m", "--model"}, paramLabel = "FILE",
            description = "GGUF model file (default: the bundled models/stories260K.gguf).")
    Path model;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path path = model != null ? model : Main.defaultModel();
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile f = GgufFile.open(path)) {
            Map<String, Object> info = describe(f, path.toString());
            if (json) out.println(new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(info));
            else printText(out, f, info);
        }
        out.flush();
        return 0;
    }

    /** Everything {@code info} reports, as JSON-ready maps and lists (the text view prints the same). */
    static Map<String, Object> describe(GgufFile f, String path) {
        Metadata md = f.metadata();
        String arch = f.architecture();
        ModelSummary s = ModelSummary.of(f);

        Map<String, Object> root = new LinkedHashMap<>();
        root.put("file", path);
        root.put("file_bytes", f.fileSize());
        root.put("gguf_version", f.version());
        root.put("alignment", f.alignment());
        root.put("architecture", arch);
        root.put("name", md.getString("general.name", null));
        root.put("file_type", md.has("general.file_type") ? md.getLong("general.file_type") : null);

        Map<String, Object> hp = new LinkedHashMap<>();
        if (arch != null) {
            for (String k : md.keys()) {
                if (k.startsWith(arch + ".")) hp.put(k.substring(arch.length() + 1), plain(md.get(k)));
            }
        }
        root.put("hyperparameters", hp);
        root.put("tokenizer", tokenizer(md));

        Map<String, Object> other = new LinkedHashMap<>();
        for (String k : md.keys()) {
            boolean shown = k.startsWith("tokenizer.") || (arch != null && k.startsWith(arch + "."))
                    || k.equals("general.architecture") || k.equals("general.name") || k.equals("general.file_type");
            if (!shown) other.put(k, plain(md.get(k)));
        }
        root.put("metadata", other);

        List<Object> tensors = new ArrayList<>();
        for (TensorInfo t : f.tensors()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.name());
            m.put("type", t.type().name());
            m.put("shape", t.shape());
            m.put("bytes", t.byteSize());
            m.put("offset", f.dataOffset() + t.offset());
            tensors.add(m);
        }
        root.put("tensors", tensors);

        Map<String, Object> totals = new LinkedHashMap<>();
        totals.put("tensors", f.tensors().size());
        totals.put("parameters", s.parameters());
        totals.put("tensor_bytes", s.tensorBytes());
        totals.put("bits_per_weight", round(s.bitsPerWeight(), 4));
        Map<String, Object> perType = new LinkedHashMap<>();
        s.perType().forEach((type, v) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tensors", v[0]);
            m.put("parameters", v[1]);
            m.put("bytes", v[2]);
            m.put("bits_per_weight", round(v[1] == 0 ? 0 : 8.0 * v[2] / v[1], 4));
            perType.put(type.name(), m);
        });
        totals.put("by_type", perType);
        totals.put("tied_output", s.tiedHead());
        totals.put("weight_bytes_per_token", s.tokenTrafficBytes());
        root.put("totals", totals);
        return root;
    }

    private static Map<String, Object> tokenizer(Metadata md) {
        Map<String, Object> t = new LinkedHashMap<>();
        if (!md.has("tokenizer.ggml.model")) return t;
        t.put("model", md.getString("tokenizer.ggml.model", null));
        t.put("pre", md.getString("tokenizer.ggml.pre", null));
        t.put("tokens", md.has("tokenizer.ggml.tokens") ? md.getArray("tokenizer.ggml.tokens").length() : 0);
        t.put("merges", md.has("tokenizer.ggml.merges") ? md.getArray("tokenizer.ggml.merges").length() : 0);
        for (String id : List.of("bos", "eos", "eot", "unknown", "padding", "seperator")) {
            String key = "tokenizer.ggml." + id + "_token_id";
            if (md.has(key)) t.put(id + "_id", md.getLong(key));
        }
        if (md.has("tokenizer.ggml.add_bos_token")) t.put("add_bos", md.getBoolean("tokenizer.ggml.add_bos_token"));
        t.put("chat_template", md.has("tokenizer.chat_template"));
        return t;
    }

    /** A metadata value as JSON: scalars as themselves, arrays as their type and length. */
    private static Object plain(MetadataValue v) {
        return switch (v.type()) {
            case ARRAY -> {
                GgufArray a = (GgufArray) v.value();
                yield a.length() <= 8 && a.elementType() != MetadataType.ARRAY ? arrayValues(a)
                        : Map.of("array", a.elementType().name(), "length", a.length());
            }
            case UINT64 -> (Long) v.value() < 0 ? Long.toUnsignedString((Long) v.value()) : v.value();
            default -> v.value();
        };
    }

    private static List<Object> arrayValues(GgufArray a) {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < a.length(); i++) out.add(java.lang.reflect.Array.get(a.data(), i));
        return out;
    }

    private static double round(double v, int digits) {
        double p = Math.pow(10, digits);
        return Math.round(v * p) / p;
    }

    // ---- text ----

    @SuppressWarnings("unchecked")
    private static void printText(PrintWriter out, GgufFile f, Map<String, Object> info) {
        ModelSummary s = ModelSummary.of(f);
        out.printf(Locale.ROOT, "file          %s%n", info.get("file"));
        out.printf(Locale.ROOT, "format        GGUF v%d, %s, alignment %d, %d metadata keys, %d tensors%n",
                f.version(), bytes(f.fileSize()), f.alignment(), f.metadata().size(), f.tensors().size());
        out.printf(Locale.ROOT, "architecture  %s%n", info.get("architecture"));
        if (info.get("name") != null) out.printf(Locale.ROOT, "name          %s%n", info.get("name"));
        if (s.dominantType() != null) {
            out.printf(Locale.ROOT, "weights       mostly %s%s%n", s.dominantType(),
                    info.get("file_type") != null ? " (general.file_type " + info.get("file_type") + ")" : "");
        }

        Map<String, Object> hp = (Map<String, Object>) info.get("hyperparameters");
        if (!hp.isEmpty()) {
            out.println();
            out.println("hyperparameters");
            hp.forEach((k, v) -> out.printf(Locale.ROOT, "  %-38s %s%n", k, text(v)));
        }
        Map<String, Object> tok = (Map<String, Object>) info.get("tokenizer");
        if (!tok.isEmpty()) {
            out.println();
            out.println("tokenizer");
            tok.forEach((k, v) -> out.printf(Locale.ROOT, "  %-38s %s%n", k, text(v)));
        }
        Map<String, Object> other = (Map<String, Object>) info.get("metadata");
        if (!other.isEmpty()) {
            out.println();
            out.println("other metadata");
            other.forEach((k, v) -> out.printf(Locale.ROOT, "  %-38s %s%n", k, text(v)));
        }

        out.println();
        int w = Math.max(4, f.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4));
        out.printf(Locale.ROOT, "  %-" + w + "s  %-6s  %-20s  %14s%n", "tensor", "type", "shape", "bytes");
        for (TensorInfo t : f.tensors()) {
            out.printf(Locale.ROOT, "  %-" + w + "s  %-6s  %-20s  %,14d%n", t.name(), t.type(), t.shapeString(), t.byteSize());
        }

        out.println();
        out.println("totals");
        out.printf(Locale.ROOT, "  %-24s %,d (%s)%n", "parameters", s.parameters(), count(s.parameters()));
        out.printf(Locale.ROOT, "  %-24s %,d (%s), %.4f bits per weight%n", "tensor bytes", s.tensorBytes(),
                bytes(s.tensorBytes()), s.bitsPerWeight());
        for (var e : s.perType().entrySet()) {
            long[] v = e.getValue();
            out.printf(Locale.ROOT, "  %-24s %d tensor%s, %s params, %s, %.4f bits per weight%n", e.getKey(),
                    v[0], v[0] == 1 ? "" : "s", count(v[1]), bytes(v[2]), v[1] == 0 ? 0.0 : 8.0 * v[2] / v[1]);
        }
        out.printf(Locale.ROOT, "  %-24s %,d (%s)%s%n", "weight bytes per token", s.tokenTrafficBytes(),
                bytes(s.tokenTrafficBytes()), s.tiedHead() ? ", output head tied to token_embd" : "");
    }

    private static String text(Object v) {
        if (v == null) return "-";
        if (v instanceof Float f) return Float.toString(f);
        if (v instanceof Map<?, ?> m && m.containsKey("array")) return m.get("array") + "[" + m.get("length") + "]";
        if (v instanceof String s) return s.length() > 80 ? s.substring(0, 77).replace('\n', ' ') + "..." : s.replace('\n', ' ');
        return String.valueOf(v);
    }
}
