package io.ternion.harness;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MachineTest {

    @Test
    void cpuModelFromProcCpuinfo(@TempDir Path dir) throws IOException {
        Path x86 = Files.writeString(dir.resolve("x86"), "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\n");
        assertEquals("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", Machine.cpuModel(x86));
        Path arm = Files.writeString(dir.resolve("arm"), "processor\t: 0\nBogoMIPS\t: 48.00\n\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n");
        assertEquals("Raspberry Pi 5 Model B Rev 1.0", Machine.cpuModel(arm));
        assertEquals(System.getProperty("os.arch"), Machine.cpuModel(dir.resolve("missing")));
    }
}
