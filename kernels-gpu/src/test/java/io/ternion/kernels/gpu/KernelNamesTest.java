package io.ternion.kernels.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * KernelNames against the kernels ternion.cl defines, read from its source text (no device): a
 * misspelt name fails here rather than at a model's load.
 */
class KernelNamesTest {
    @Test
    void everyNameInTheTableIsAKernelOfTernionCl() {
        Set<String> missing = new TreeSet<>(KernelNames.all());
        missing.removeAll(kernelsOf(ClOps.source()));
        assertEquals(Set.of(), missing, "names ClOps launches that ternion.cl does not define");
    }

    @Test
    void everyKernelOfTernionClIsInTheTable() {
        Set<String> unknown = kernelsOf(ClOps.source());
        unknown.removeAll(KernelNames.all());
        assertEquals(Set.of(), unknown, "kernels of ternion.cl that ClOps never launches");
    }

    @Test
    void everyTypeAndQuantizerHasItsKernels() {
        for (var t : ClOps.TYPES) assertNotNull(KernelNames.of(t), t.name());
        for (ClOps.Activations a : ClOps.Activations.values()) {
            assertEquals(a != ClOps.Activations.FLOAT, a.quantizeKernel != null, a + " quantize kernel");
            assertEquals(a != ClOps.Activations.FLOAT, a.normQuantizeKernel != null, a + " fused norm kernel");
        }
    }

    /** The reader of ternion.cl finds both spellings of the keyword and names pasted together by macros. */
    @Test
    void readsPlainAndMacroMadeKernels() {
        String source = """
                // kernel void commented_out(int x) {}
                /* kernel void
                   also_commented(int x) {} */
                kernel void plain(global float* x) {}
                __kernel void underscored(global float* x) {}
                #define MAKE(BLOCK, T) \\
                kernel void pre_##T(global float* x) { \\
                    x[0] = BLOCK; \\
                }
                MAKE(32, a) MAKE(64, b)
                MAKE(16,
                     c)
                """;
        assertEquals(new TreeSet<>(List.of("plain", "underscored", "pre_a", "pre_b", "pre_c")), kernelsOf(source));
        Set<String> real = kernelsOf(ClOps.source());
        assertTrue(real.containsAll(List.of("mv_tq1_0", "mm_q1_0", "embed_i2_s", "rms_norm_quant_q8_0", "quant_i8_s", "argmax")), real.toString());
    }

    private static final Pattern KERNEL = Pattern.compile("\\b(?:__)?kernel\\s+void\\s+(\\w+)\\s*\\(");
    private static final Pattern PASTED_KERNEL = Pattern.compile("\\b(?:__)?kernel\\s+void\\s+(\\w*)##(\\w+)\\s*\\(");
    private static final Pattern DEFINE = Pattern.compile("#define\\s+(\\w+)\\(([^)]*)\\)(.*)", Pattern.DOTALL);

    /** A macro that defines a kernel named {@code prefix} + its argument number {@code param}. */
    private record KernelMacro(String prefix, int param) {}

    /**
     * The kernel names {@code source} defines: after the preprocessor's own first steps (comments out,
     * continued lines joined), plain {@code kernel void name(} and {@code kernel void prefix##PARAM(}
     * inside a function-like macro, expanded at each use of that macro. Enough for ternion.cl, whose
     * macros paste one argument onto a fixed prefix.
     */
    static Set<String> kernelsOf(String source) {
        String text = source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", "").replace("\\\n", " ");
        Map<String, KernelMacro> macros = new HashMap<>();
        List<String> code = new ArrayList<>();
        for (String line : text.split("\n")) {
            Matcher d = DEFINE.matcher(line.strip());
            if (!d.matches()) {
                code.add(line);
                continue;
            }
            Matcher k = PASTED_KERNEL.matcher(d.group(3));
            if (k.find()) {
                List<String> params = List.of(d.group(2).split("\\s*,\\s*"));
                int param = params.indexOf(k.group(2));
                assertTrue(param >= 0, "macro " + d.group(1) + " pastes " + k.group(2) + ", which is not one of its parameters");
                macros.put(d.group(1), new KernelMacro(k.group(1), param));
            } else {
                assertTrue(!KERNEL.matcher(d.group(3)).find(), "macro " + d.group(1) + " defines a kernel this reader cannot name");
            }
        }
        String rest = String.join("\n", code);
        Set<String> names = new TreeSet<>();
        Matcher k = KERNEL.matcher(rest);
        while (k.find()) names.add(k.group(1));
        for (var e : macros.entrySet()) {
            Matcher use = Pattern.compile("\\b" + e.getKey() + "\\s*\\(([^)]*)\\)").matcher(rest);
            while (use.find()) names.add(e.getValue().prefix() + use.group(1).split(",")[e.getValue().param()].strip());
        }
        return names;
    }
}
