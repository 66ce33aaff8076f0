package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import io.ternion.cli.InfoCommandTest.Result;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SynthCommandTest {

    @Test
    void writesAModelThatInfoAndRunRead(@TempDir Path dir) {
        Path f = dir.resolve("tiny.gguf");
        Result w = ternion("synth", "--preset", "tiny-bitnet-b1.58", "--type", "i2_s", "--seed", "3", "-o", f.toString());
        assertEquals(0, w.code(), w.err());
        assertTrue(w.err().contains("wrote " + f), w.err());

        Result info = ternion("info", "-m", f.toString());
        assertTrue(info.out().contains("architecture  bitnet-b1.58"), info.out());
        assertTrue(info.out().contains("I2_S"), info.out());

        Result cpu = ternion("run", "-m", f.toString(), "-n", "4", "--temp", "0");
        assertEquals(0, cpu.code(), cpu.err());
        assertTrue(cpu.err().contains("backend cpu"), cpu.err());
    }

    /**
     * --arch bitnet writes an I2_S 2B4T-shaped file as bitnet.cpp's 2024 fork reads it (arch bitnet,
     * SiLU FFN, sub-norms kept); Ternion runs it, and other presets refuse the option.
     */
    @Test
    void i2_sUnderArchBitnet(@TempDir Path dir) {
        Path f = dir.resolve("tiny-bitnet-i2s.gguf");
        Result w = ternion("synth", "--preset", "tiny-bitnet-b1.58", "--type", "i2_s", "--arch", "bitnet", "-o", f.toString());
        assertEquals(0, w.code(), w.err());
        Result info = ternion("info", "-m", f.toString());
        assertTrue(info.out().contains("architecture  bitnet\n"), info.out());
        assertTrue(info.out().contains("I2_S"), info.out());
        assertTrue(info.out().contains("attn_sub_norm"), info.out());
        Result run = ternion("run", "-m", f.toString(), "-n", "4", "--temp", "0");
        assertEquals(0, run.code(), run.err());

        Result bad = ternion("synth", "--preset", "tiny-qwen3", "--type", "q1_0", "--arch", "bitnet", "-o", dir.resolve("x.gguf").toString());
        assertEquals(2, bad.code());
        assertEquals("ternion: error: preset tiny-qwen3 is written as qwen3, not bitnet\n", bad.err());
    }

    /**
     * --yarn writes a Qwen3 with YaRN scaling: info shows the keys, run takes a context up to the
     * stretched one without a warning and warns once past it, and --rope-scaling none turns it off.
     */
    @Test
    void yarnStretchesTheContext(@TempDir Path dir) {
        Path f = dir.resolve("yarn.gguf");
        Result w = ternion("synth", "--preset", "tiny-qwen3", "--type", "q1_0", "--yarn", "4", "-o", f.toString());
        assertEquals(0, w.code(), w.err());
        Result info = ternion("info", "-m", f.toString());
        assertTrue(info.out().contains("rope.scaling.type") && info.out().contains("yarn"), info.out());
        assertTrue(info.out().contains("rope.scaling.original_context_length"), info.out());

        Result stretched = ternion("run", "-m", f.toString(), "-n", "4", "--temp", "0", "-c", "1024", "-t", "1");
        assertEquals(0, stretched.code(), stretched.err());
        assertTrue(stretched.err().contains("context 1024, rope scaling yarn ×4 of 256"), stretched.err());
        assertFalse(stretched.err().contains("warning"), stretched.err());
        Result past = ternion("run", "-m", f.toString(), "-n", "4", "--temp", "0", "-c", "2048", "-t", "1");
        assertEquals(0, past.code(), past.err());
        assertEquals(1, past.err().lines().filter(l -> l.contains("warning")).count(), past.err());
        assertTrue(past.err().contains("a context of 2048 positions is past the 1024 that yarn ×4 of 256 rope scaling reaches"), past.err());
        Result off = ternion("run", "-m", f.toString(), "-n", "4", "--temp", "0", "-c", "1024", "-t", "1", "--rope-scaling", "none");
        assertEquals(0, off.code(), off.err());
        assertTrue(off.err().contains("past the model's 256 and it has no rope scaling"), off.err());

        // A context that cannot fit is the memory error alone, not a warning before it.
        Result huge = ternion("run", "-m", f.toString(), "-n", "4", "--temp", "0", "-c", "1000000000", "-t", "1");
        assertEquals(2, huge.code(), huge.err());
        assertEquals(1, huge.err().lines().count(), huge.err());
        assertTrue(huge.err().startsWith("ternion: error: a context of 1000000000 positions needs 953.7 GiB of f16 KV cache"), huge.err());

        Result bad = ternion("synth", "--preset", "tiny-qwen3", "--type", "q1_0", "--yarn", "0.5", "-o", f.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("YaRN factor must be above 1"), bad.err());
    }

    @Test
    void badPresetOrTypeIsOneLineAndExit2(@TempDir Path dir) {
        Result preset = ternion("synth", "--preset", "gpt-5", "--type", "i2_s", "-o", dir.resolve("x.gguf").toString());
        assertEquals(2, preset.code());
        assertTrue(preset.err().startsWith("ternion: error: unknown preset 'gpt-5'"), preset.err());
        Result type = ternion("synth", "--preset", "bonsai-8b", "--type", "tq2_0", "-o", dir.resolve("x.gguf").toString());
        assertEquals(2, type.code());
        assertEquals("ternion: error: preset bonsai-8b comes in [q1_0], not tq2_0\n", type.err());
    }

    /** --block picks Q2_0's block size; the file says which by its sizes, and both run. */
    @Test
    void q2_0InBothBlockSizes(@TempDir Path dir) {
        for (String[] c : new String[][] {{"64", "Q2_0 "}, {"128", "Q2_0_128 "}}) {
            Path f = dir.resolve("tb-" + c[0] + ".gguf");
            Result w = ternion("synth", "--preset", "tiny-ternary-bonsai", "--type", "q2_0", "--block", c[0], "-o", f.toString());
            assertEquals(0, w.code(), w.err());
            Result info = ternion("info", "-m", f.toString());
            assertTrue(info.out().contains(c[1]), info.out());
            Result run = ternion("run", "-m", f.toString(), "-n", "4", "--temp", "0");
            assertEquals(0, run.code(), run.err());
        }
        Result bad = ternion("synth", "--preset", "tiny-ternary-bonsai", "--type", "q2_0", "--block", "32", "-o", dir.resolve("x.gguf").toString());
        assertEquals(2, bad.code());
        assertEquals("ternion: error: --block must be 64 or 128 for q2_0, not 32\n", bad.err());
        Result other = ternion("synth", "--preset", "tiny-qwen3", "--type", "q1_0", "--block", "64", "-o", dir.resolve("x.gguf").toString());
        assertEquals(2, other.code());
        assertEquals("ternion: error: --block applies to q2_0 only, not q1_0\n", other.err());
    }
}
