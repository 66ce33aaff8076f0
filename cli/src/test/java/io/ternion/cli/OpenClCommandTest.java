package io.ternion.cli;

import static io.ternion.cli.InfoCommandTest.bundledModel;
import static io.ternion.cli.InfoCommandTest.ternion;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.cli.InfoCommandTest.Result;
import io.ternion.kernels.gpu.OpenClTestDevice;
import org.junit.jupiter.api.Test;

/** {@code ternion devices}, and {@code run} on the OpenCL backend (PoCL's CPU device in CI). */
class OpenClCommandTest {
    private static final String STORY = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

    @Test
    void devicesListsTheTestDeviceAndAutosChoice() throws Exception {
        String name = OpenClTestDevice.require().name();
        Result r = ternion("devices");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("#0 " + name + "\n"), r.out());
        assertTrue(r.out().contains("compute units"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("auto: ")), r.out());

        Result j = ternion("devices", "--json");
        assertEquals(0, j.code(), j.err());
        JsonNode root = new ObjectMapper().readTree(j.out());
        assertEquals(name, root.get("devices").get(0).get("name").asText());
        assertTrue(root.get("devices").get(0).get("global_memory").asLong() > 0);
        assertTrue(root.get("devices").get(0).get("usable").asBoolean());
        String auto = root.get("auto").asText();
        assertTrue(auto.equals("cpu") || auto.equals("opencl"), auto);
    }

    @Test
    void runOnOpenClGivesTheSameStory() {
        OpenClTestDevice.require();
        Result r = ternion("run", "-m", bundledModel().toString(), "--backend", "opencl", "--device", "0", "--temp", "0", "-n", "31");
        assertEquals(0, r.code(), r.err());
        assertEquals(STORY + "\n", r.out());
        assertTrue(r.err().contains("backend opencl"), r.err());
    }

    @Test
    void aDeviceThatDoesNotExistIsOneLineAndExit2() {
        OpenClTestDevice.require();
        Result r = ternion("run", "-m", bundledModel().toString(), "--backend", "opencl", "--device", "42", "-n", "3");
        assertEquals(2, r.code());
        assertEquals("", r.out());
        assertTrue(r.err().contains("ternion: error: --backend opencl: there is no OpenCL device 42"), r.err());
    }
}
