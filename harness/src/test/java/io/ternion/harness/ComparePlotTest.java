package io.ternion.harness;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ComparePlotTest {

    static CompareReport.Run run(String backend, double prefill, double decode, Agreement agreement) {
        return new CompareReport.Run(backend, "device", 10, prefill, decode, 1 << 20, 0, 100, agreement);
    }

    @Test
    void speedsFarApartAndAnExactBackendStillPlot(@TempDir Path dir) throws IOException {
        // As measured on BitNet 2B4T: the reference at 0.4 tok/s, the cpu 20× faster; a second
        // reference run with KL 0 everywhere.
        var report = new CompareReport(CompareReport.SCHEMA, new ModelInfo("m.gguf", "bitnet-b1.58", "I2_S", 1, 1, 1),
                new CompareReport.Sequence(2, 2, List.of(1, 2, 3, 4)), run("reference", 0.4, 0.35, null),
                List.of(run("cpu", 4.6, 8.0, new Agreement(0.01, 1, 75, 0.012, 0.025, List.of(0.01, 0.02, 0.005, 0.012))),
                        run("reference", 0.4, 0.4, new Agreement(0, 0, 100, 0, 0, List.of(0.0, 0.0, 0.0, 0.0)))),
                List.of());
        Path png = dir.resolve("plot.png");
        ComparePlot.write(report, png);
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(1600, image.getWidth());
        assertEquals(500, image.getHeight());
        String[] titles = ComparePlot.titles(report, "AMD EPYC 9R14", 2);
        assertEquals("Speed: m.gguf (I2_S) on AMD EPYC 9R14, 2 cores", titles[0]);
        assertEquals("KL divergence from the reference: m.gguf (I2_S)", titles[1]);
    }
}
