package io.ternion.kernels.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The launch settings from tornado-config/opencl and a user's file, for described devices (no OpenCL needed). */
class ClSettingsTest {
    @TempDir
    Path dir;

    /** A device as ClDevice.list() would describe it; only vendor, type and the work-group limit matter here. */
    static ClDevice device(String vendor, String type, long maxWorkGroupSize) {
        return new ClDevice(0, "test", "test device", vendor, type, "OpenCL 3.0", "1", 1L << 33, 1L << 31, 65536, 8,
                maxWorkGroupSize, false, false, true, true, MemorySegment.NULL, MemorySegment.NULL);
    }

    /** The settings every device had before they came from files: what the defaults must still give. */
    static ClSettings before(ClDevice d) {
        int lanes = Integer.highestOneBit((int) Math.min(d.preferredLanes(), Math.max(1, d.maxWorkGroupSize())));
        int lanesPerRow = d.isGpu() ? lanes : 1;
        return new ClSettings(lanes, lanesPerRow, lanesPerRow == 1 ? lanes : 1, 8, 64);
    }

    private ClSettings resolve(ClDevice d, Path userFile) {
        return ClSettings.resolve(d.type(), d.preferredLanes(), d.maxWorkGroupSize(), ClSettingsFiles.forDevice(d.vendor(), d.type(), userFile));
    }

    @Test
    void defaultsAreTheSettingsOfBeforeOnEveryKindOfDevice() {
        String[] vendors = {"NVIDIA Corporation", "Advanced Micro Devices, Inc.", "AMD", "Intel(R) Corporation", "Apple",
                "AuthenticAMD", "GenuineIntel", "Qualcomm", "ARM", "Imagination Technologies"};
        for (String vendor : vendors) {
            for (String type : new String[] {"GPU", "CPU", "accelerator", "other"}) {
                for (long limit : new long[] {0, 1, 8, 16, 48, 64, 256, 1024, 4096}) {
                    ClDevice d = device(vendor, type, limit);
                    assertEquals(before(d), resolve(d, null), vendor + " " + type + " limit " + limit);
                }
            }
        }
    }

    @Test
    void gpuAndCpuDefaultsSpelledOut() {
        assertEquals(new ClSettings(32, 32, 1, 8, 64), ClSettings.of(device("NVIDIA Corporation", "GPU", 1024)));
        assertEquals(new ClSettings(64, 64, 1, 8, 64), ClSettings.of(device("Advanced Micro Devices, Inc.", "GPU", 256)));
        assertEquals(new ClSettings(16, 16, 1, 8, 64), ClSettings.of(device("Intel(R) Corporation", "GPU", 512)));
        // PoCL on the CPU's cores.
        ClSettings pocl = ClSettings.of(device("AuthenticAMD", "CPU", 4096));
        assertEquals(new ClSettings(16, 1, 16, 8, 64), pocl);
        assertEquals("-DLWS=16 -DLPR=1 -DRPW=16 -DTILE=8", pocl.buildOptions());
    }

    @Test
    void filesAreMatchedByTypeThenVendor() {
        assertEquals("cpu.properties", ClSettingsFiles.matchedFile("NVIDIA Corporation", "CPU"));
        assertEquals("cpu.properties", ClSettingsFiles.matchedFile("GenuineIntel", "CPU"));
        assertEquals("nvidia.properties", ClSettingsFiles.matchedFile("NVIDIA Corporation", "GPU"));
        assertEquals("amd.properties", ClSettingsFiles.matchedFile("Advanced Micro Devices, Inc.", "GPU"));
        assertEquals("intel.properties", ClSettingsFiles.matchedFile("Intel(R) Corporation", "GPU"));
        assertEquals("apple.properties", ClSettingsFiles.matchedFile("Apple", "GPU"));
        assertNull(ClSettingsFiles.matchedFile("Qualcomm", "GPU"));
        assertNull(ClSettingsFiles.matchedFile("Xilinx", "accelerator"));
        assertEquals(java.util.List.of("tornado-config/opencl/nvidia.properties", "tornado-config/opencl/default.properties"),
                ClSettingsFiles.forDevice("NVIDIA Corporation", "GPU", null).files().stream().map(ClSettingsFiles.File::name).toList());
    }

    @Test
    void aUserFileOverridesOnlyTheKeysItHas() throws IOException {
        Path mine = Files.writeString(dir.resolve("my-gpu.properties"), "# fewer rows per group, smaller tiles\ntile = 4\nrows_per_group = 8\n");
        assertEquals(new ClSettings(16, 1, 8, 4, 64), resolve(device("AuthenticAMD", "CPU", 4096), mine));
        Files.writeString(mine, "lanes_per_row = 8\nmax_batch = 128\n");
        // Rows per group stays auto, which is 1 once rows are shared by lanes.
        assertEquals(new ClSettings(32, 8, 1, 8, 128), resolve(device("NVIDIA Corporation", "GPU", 1024), mine));
        Files.writeString(mine, "lanes = 64\n");
        assertEquals(new ClSettings(64, 64, 1, 8, 64), resolve(device("NVIDIA Corporation", "GPU", 1024), mine));
    }

    @Test
    void theSystemPropertyNamesTheUserFile() throws IOException {
        Path mine = Files.writeString(dir.resolve("mine.properties"), "tile = 2\n");
        String before = System.getProperty(ClSettingsFiles.PROPERTY);
        System.setProperty(ClSettingsFiles.PROPERTY, mine.toString());
        try {
            assertEquals(2, ClSettings.of(device("NVIDIA Corporation", "GPU", 1024)).tile());
        } finally {
            if (before == null) System.clearProperty(ClSettingsFiles.PROPERTY);
            else System.setProperty(ClSettingsFiles.PROPERTY, before);
        }
    }

    /** Each bad value is one error that names the file, the key and the value. */
    @ParameterizedTest(name = "{0} = {1} on a {2}")
    @CsvSource(delimiter = '|', textBlock = """
            lanes          | 48    | GPU | a power of two
            lanes          | 2048  | GPU | work-group limit (1024)
            lanes          | 0     | GPU | a power of two
            lanes          | fast  | GPU | not a whole number or auto
            lanes_per_row  | 64    | GPU | at most lanes (32)
            lanes_per_row  | 3     | CPU | a power of two
            rows_per_group | 64    | GPU | work-group limit (1024)
            rows_per_group | -2    | CPU | a power of two
            tile           | 0     | GPU | from 1 to 32
            tile           | 33    | CPU | from 1 to 32
            tile           | auto  | GPU | not a whole number
            max_batch      | 5000  | GPU | from 1 to 4096
            max_batch      | 1e3   | CPU | not a whole number
            """)
    void badValuesAreOneClearError(String key, String value, String type, String why) throws IOException {
        Path mine = Files.writeString(dir.resolve("bad.properties"), key + " = " + value + "\n");
        OpenClException e = assertThrows(OpenClException.class, () -> resolve(device("NVIDIA Corporation", type, 1024), mine));
        assertTrue(e.getMessage().startsWith(mine + ": " + key + " = " + value + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(why), e.getMessage());
    }

    @Test
    void aMisspeltKeyOrAMissingFileIsAnError() throws IOException {
        Path mine = Files.writeString(dir.resolve("typo.properties"), "tiles = 4\n");
        OpenClException e = assertThrows(OpenClException.class, () -> resolve(device("NVIDIA Corporation", "GPU", 1024), mine));
        assertTrue(e.getMessage().startsWith(mine + ": 'tiles' is not a setting"), e.getMessage());
        Path none = dir.resolve("none.properties");
        e = assertThrows(OpenClException.class, () -> resolve(device("NVIDIA Corporation", "GPU", 1024), none));
        assertTrue(e.getMessage().contains("-Dternion.opencl.config=" + none + " does not exist"), e.getMessage());
    }

    @Test
    void testsCanPickEitherMatvecLayout() {
        ClSettings pocl = ClSettings.of(device("AuthenticAMD", "CPU", 4096));
        assertEquals(new ClSettings(16, 16, 1, 8, 64), pocl.withLanesPerRow(16));
        assertEquals(pocl, pocl.withLanesPerRow(16).withLanesPerRow(1));
        assertThrows(IllegalArgumentException.class, () -> pocl.withLanesPerRow(32));
        assertThrows(IllegalArgumentException.class, () -> pocl.withLanesPerRow(6));
    }
}
