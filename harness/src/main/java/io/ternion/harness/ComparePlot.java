package io.ternion.harness;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * {@code compare --plot}: one PNG with two charts side by side, speed per backend (prefill and
 * decode tokens/s) and the KL divergence from the reference at each position of the sequence.
 */
public final class ComparePlot {
    private ComparePlot() {}

    private static final int WIDTH = 800, HEIGHT = 500;

    public static void write(CompareReport report, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true"); // a CLI on a server: no display to open
        String[] titles = titles(report, Machine.cpuModel(Path.of("/proc/cpuinfo")), Runtime.getRuntime().availableProcessors());
        List<Chart<?, ?>> charts = List.of(speed(report, titles[0]), divergence(report, titles[1]));
        try (OutputStream out = Files.newOutputStream(png)) {
            BitmapEncoder.saveBitmap(charts, 1, charts.size(), out, BitmapEncoder.BitmapFormat.PNG);
        }
    }

    /** The charts' titles: a plot passed around on its own says which model it measured, and on what machine. */
    static String[] titles(CompareReport report, String cpu, int cores) {
        String model = Path.of(report.model().file()).getFileName() + " (" + report.model().type() + ")";
        return new String[] {"Speed: " + model + " on " + cpu + ", " + cores + " cores", "KL divergence from the reference: " + model};
    }

    private static CategoryChart speed(CompareReport report, String title) {
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("backend").yAxisTitle("tokens/s").build();
        List<String> labels = new ArrayList<>();
        List<Double> prefill = new ArrayList<>(), decode = new ArrayList<>();
        // "reference" may also be a row of its own (a second run, checking the first), so the baseline is labelled.
        labels.add(report.reference().backend() + " (baseline)");
        prefill.add(report.reference().prefillTokensPerSecond());
        decode.add(report.reference().decodeTokensPerSecond());
        for (CompareReport.Run r : report.backends()) {
            labels.add(r.backend());
            prefill.add(r.prefillTokensPerSecond());
            decode.add(r.decodeTokensPerSecond());
        }
        c.addSeries("prefill", labels, prefill);
        c.addSeries("decode", labels, decode);
        // The reference can be 20× slower than the rest; its bars stay readable by their labels.
        c.getStyler().setLabelsVisible(true);
        c.getStyler().setYAxisDecimalPattern("#,##0.#");
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        return c;
    }

    private static XYChart divergence(CompareReport report, String title) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("position (the line: end of the prompt)").yAxisTitle("KL (nats)").build();
        int n = report.sequence().tokens().size();
        double[] x = IntStream.range(0, n).asDoubleStream().toArray();
        for (CompareReport.Run r : report.backends()) {
            double[] y = r.agreement().klPerPosition().stream().mapToDouble(d -> d).toArray();
            c.addSeries(r.backend(), x, y).setMarker(SeriesMarkers.NONE);
        }
        c.addAnnotation(new AnnotationLine(report.sequence().promptTokens() - 0.5, true, false));
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        return c;
    }
}
