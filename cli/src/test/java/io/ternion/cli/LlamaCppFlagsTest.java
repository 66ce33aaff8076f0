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

    @Test
    void chatFlags() {
        Result st = run("-st", "-sys", "Be brief.", "-p", "Hi");
        assertEquals(0, st.code(), st.err());
        Result chat = run("--chat", "--system", "Be brief.", "-p", "Hi");
        assertEquals(chat.out(), st.out());
        assertEquals(0, run("-no-cnv", "-p", "Once").code());
        fails("-cnv is a conversation", "-cnv", "-no-cnv");
        var stdin = System.in;
        try {
            System.setIn(new java.io.ByteArrayInputStream("/exit\n".getBytes()));
            Result cnv = run("-cnv", "-sys", "Be brief.", "-p", "Hi");
            assertEquals(0, cnv.code(), cnv.err());
            assertEquals(chat.out(), cnv.out(), "the prompt is the conversation's first turn");
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void acceptedOrRefusedByName() {
        for (String[] ok : new String[][] {{"-fa"}, {"-fa", "on"}, {"--flash-attn", "off"}, {"-ctk", "f16", "-ctv", "f16"}, {"-np", "1"}}) {
            Result r = run(ok);
            assertEquals(0, r.code(), String.join(" ", ok) + ": " + r.err());
        }
        fails("--cache-type-k q8_0 is not supported by ternion yet", "-ctk", "q8_0");
        fails("--cache-type-v q4_0 is not supported by ternion yet", "-ctv", "q4_0");
        fails("-hf (download by name) is not supported by ternion yet", "-hf", "owner/repo");
        fails("-np 4 is not supported by ternion yet", "-np", "4");
        fails("-fa takes on, off or auto", "-fa", "maybe");
        fails("Unknown option: '-mg': not a flag of ternion run", "-mg", "0");
        fails("Unknown option: '-n5'", "-n5");
    }
}
