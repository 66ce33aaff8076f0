package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.bundledModel;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ternion.cli.InfoCommandTest.Result;
import io.ternion.kernels.gpu.OpenClTestDevice;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * llama.cpp's multi-letter single-dash flags mean what they mean there, or say why not; none is
 * read as a cluster of short options (-ngl 99 once became -n gl).
 */
class LlamaCppFlagsTest {
    static Result run(String... flags) {
        List<String> args = new ArrayList<>(List.of("run", "-m", bundledModel().toString(), "-n", "3", "--temp", "0"));
        args.addAll(List.of(flags));
        return ternion(args.toArray(String[]::new));
    }

    static void fails(String message, String... flags) {
        Result r = run(flags);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("ternion: error: " + message), r.err());
    }

    @Test
    void gpuLayersPickTheBackend() {
        Result cpu = run("-ngl", "0");
        assertEquals(0, cpu.code(), cpu.err());
        assertTrue(cpu.err().contains("backend cpu"), cpu.err());
        fails("-ngl 99 means --backend opencl, but --backend cpu was given", "-ngl", "99", "--backend", "cpu");
        fails("-ngl must be >= 0", "-ngl", "-1");
        OpenClTestDevice.require();
        Result gpu = run("-ngl", "99", "-dev", "0");
        assertEquals(0, gpu.code(), gpu.err());
        assertTrue(gpu.err().contains("backend opencl"), gpu.err());
        assertEquals(cpu.out(), gpu.out());
    }

    /** --no-warmup loads without the kernel warm-up, as llama.cpp's skips its warm-up run. */
    @Test
    void noWarmupTurnsTheWarmUpOff() {
        String before = System.getProperty(io.ternion.engine.Model.WARMUP_PROPERTY);
        try {
            System.clearProperty(io.ternion.engine.Model.WARMUP_PROPERTY);
            Result r = run("--no-warmup");
            assertEquals(0, r.code(), r.err());
            assertEquals("false", System.getProperty(io.ternion.engine.Model.WARMUP_PROPERTY));
        } finally {
            if (before == null) System.clearProperty(io.ternion.engine.Model.WARMUP_PROPERTY);
            else System.setProperty(io.ternion.engine.Model.WARMUP_PROPERTY, before);
        }
    }

    /** llama.cpp's RoPE flags reach the model (the load line says so) or are refused by name. */
    @Test
    void ropeFlags() {
        Result yarn = run("--rope-scaling", "yarn", "--rope-scale", "4", "--yarn-orig-ctx", "512", "-c", "2048", "--rope-freq-base", "10000",
                "--yarn-ext-factor", "1", "--yarn-attn-factor", "1", "--yarn-beta-fast", "32", "--yarn-beta-slow", "1");
        assertEquals(0, yarn.code(), yarn.err());
        assertTrue(yarn.err().contains("context 2048, rope scaling yarn ×4 of 512"), yarn.err());
        Result linear = run("--rope-freq-scale", "0.5", "-c", "4096");
        assertEquals(0, linear.code(), linear.err());
        assertTrue(linear.err().contains("rope scaling linear ×2 of 2048") && !linear.err().contains("warning"), linear.err());
        fails("--rope-scaling takes none, linear or yarn, not 'longrope'", "--rope-scaling", "longrope");
        fails("--rope-scale gives a scaling factor of 0.0", "--rope-scale", "0");
        fails("give --rope-scale or --rope-freq-scale, not both", "--rope-scale", "2", "--rope-freq-scale", "0.5");
        fails("--yarn-orig-ctx must be 0 (the model's)", "--yarn-orig-ctx", "-1");
        fails("--yarn-beta-fast must be positive", "--yarn-beta-fast", "0");
    }

    @Test
    void chatFlags() {
        Result st = run("-st", "-sys", "Be brief.", "-p", "Hi");
        assertEquals(0, st.code(), st.err());
        Result chat = run("--chat", "--system", "Be brief.", "-p", "Hi");
        assertEquals(chat.out(), st.out());
        assertEquals(0, run("-no-cnv", "-p", "Once").code());
        fails("-cnv is a conversation", "-cnv", "-no-cnv");
        Result cnv = ternion(new java.io.ByteArrayInputStream("/exit\n".getBytes()), "run", "-m", bundledModel().toString(), "-n", "3",
                "--temp", "0", "-cnv", "-sys", "Be brief.", "-p", "Hi");
        assertEquals(0, cnv.code(), cnv.err());
        assertEquals(chat.out(), cnv.out(), "the prompt is the conversation's first turn");
    }

    @Test
    void acceptedOrRefusedByName() {
        for (String[] ok : new String[][] {{"-fa"}, {"-fa", "on"}, {"--flash-attn", "off"}, {"-ctk", "f16", "-ctv", "f16"}, {"-ctk", "q8_0", "-ctv", "turbo3"},
                {"--cache-type-k", "turbo4", "--cache-type-v", "q4_0"}, {"-np", "1"}}) {
            Result r = run(ok);
            assertEquals(0, r.code(), String.join(" ", ok) + ": " + r.err());
        }
        fails("--cache-type-k: unknown KV cache type 'q5_1'; the types are f16, q8_0, q4_0, turbo4, turbo3", "-ctk", "q5_1");
        fails("--cache-type-v: unknown KV cache type 'bf16'", "-ctv", "bf16");
        fails("give -m or -hf, not both", "-hf", "owner/repo");
        fails("-np 4 means nothing to run and chat, which generate one sequence", "-np", "4");
        fails("-fa takes on, off or auto", "-fa", "maybe");
        fails("Unknown option: '-mg': not a flag of ternion run", "-mg", "0");
        fails("Unknown option: '-n5'", "-n5");
    }

    /** A sampled run without --seed says which seed it drew, and that seed repeats the text. */
    @Test
    void theDrawnSeedIsSaidAndRepeats() {
        Result a = ternion("run", "-m", bundledModel().toString(), "-n", "20", "--temp", "1");
        assertEquals(0, a.code(), a.err());
        var m = java.util.regex.Pattern.compile("sampling with --seed (\\d+)").matcher(a.err());
        assertTrue(m.find(), a.err());
        Result b = ternion("run", "-m", bundledModel().toString(), "-n", "20", "--temp", "1", "--seed", m.group(1));
        assertEquals(a.out(), b.out());
        assertTrue(!b.err().contains("sampling with --seed"), "a given seed is not repeated back");
    }

    /** Output paths fail before the run, not after it; the two harness commands take one flag name for backends. */
    @Test
    void outputPathsAreCheckedFirst() {
        Result plot = ternion("compare", "-m", bundledModel().toString(), "-p", "Hi", "-n", "2", "--backend", "cpu", "--plot", "/no/such/dir/x.png");
        assertEquals(2, plot.code(), plot.err());
        assertTrue(plot.err().contains("--plot /no/such/dir/x.png: the folder /no/such/dir does not exist"), plot.err());
        assertTrue(!plot.err().contains("ternion: compare: reference"), "nothing ran: " + plot.err());
        Result save = ternion("bench", "-m", bundledModel().toString(), "-p", "0", "-n", "2", "-r", "1", "--backends", "cpu", "--save-baseline", "/no/such/dir/b.json");
        assertEquals(2, save.code(), save.err());
        assertTrue(save.err().contains("--save-baseline /no/such/dir/b.json: the folder /no/such/dir does not exist"), save.err());
    }

    /** --ignore-eos runs to -n (the engine's SessionTest checks that no stop token is picked); --chat-template-file replaces the model's template. */
    @Test
    void ignoreEosAndAChatTemplateFile() throws java.io.IOException {
        for (String temp : new String[] {"0", "0.8"}) {
            Result on = ternion("run", "-m", bundledModel().toString(), "--temp", temp, "--seed", "1", "-n", "300", "--ignore-eos");
            assertEquals(0, on.code(), on.err());
            assertTrue(on.err().contains("generation 300 tokens"), on.err());
        }

        java.nio.file.Path template = java.nio.file.Files.createTempFile("template", ".jinja");
        java.nio.file.Files.writeString(template, "{% for m in messages %}{{ m['content'] }}{% endfor %}");
        Result own = ternion("run", "-m", bundledModel().toString(), "--chat", "-p", "Once upon a time", "--temp", "0", "-n", "20",
                "--chat-template-file", template.toString());
        Result plain = ternion("run", "-m", bundledModel().toString(), "-p", "Once upon a time", "--temp", "0", "-n", "20");
        assertEquals(0, own.code(), own.err());
        assertEquals(plain.out(), "Once upon a time" + own.out(), "the template writes only the message, so the chat is the plain completion");
        java.nio.file.Files.writeString(template, "{% for m in messages %}");
        Result bad = ternion("run", "-m", bundledModel().toString(), "--chat", "-p", "Hi", "--chat-template-file", template.toString());
        assertEquals(2, bad.code(), bad.err());
        java.nio.file.Files.delete(template);
    }
}
