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

    @Test
    void badPresetOrTypeIsOneLineAndExit2(@TempDir Path dir) {
        Result preset = ternion("synth", "--preset", "gpt-5", "--type", "i2_s", "-o", dir.resolve("x.gguf").toString());
        assertEquals(2, preset.code());
        assertTrue(preset.err().startsWith("ternion: error: unknown preset 'gpt-5'"), preset.err());
        Result type = ternion("synth", "--preset", "bonsai-8b", "--type", "tq2_0", "-o", dir.resolve("x.gguf").toString());
        assertEquals(2, type.code());
        assertEquals("ternion: error: preset bonsai-8b comes in [q1_0], not tq2_0\n", type.err());
    }
}
