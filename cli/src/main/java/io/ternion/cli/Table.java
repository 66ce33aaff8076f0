package io.ternion.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A table printed as Markdown (for reports pasted into issues and CI summaries) or as aligned text. */
final class Table {
    private final String[] headers;
    private final boolean[] right;
    private final List<String[]> rows = new ArrayList<>();

    /** A header ending in ">" is right-aligned (numbers); the ">" is not printed. */
    Table(String... headers) {
        this.headers = new String[headers.length];
        this.right = new boolean[headers.length];
        for (int i = 0; i < headers.length; i++) {
            right[i] = headers[i].endsWith(">");
            this.headers[i] = right[i] ? headers[i].substring(0, headers[i].length() - 1) : headers[i];
        }
    }

    Table row(Object... cells) {
        if (cells.length != headers.length) throw new IllegalArgumentException(cells.length + " cells for " + headers.length + " columns");
        rows.add(Arrays.stream(cells).map(c -> c == null ? "" : c.toString()).toArray(String[]::new));
        return this;
    }

    void printMarkdown(PrintWriter out) {
        out.println(markdownRow(headers));
        StringBuilder rule = new StringBuilder("|");
        for (boolean r : right) rule.append(r ? " ---: |" : " --- |");
        out.println(rule);
        for (String[] row : rows) out.println(markdownRow(row));
    }

    /** A row of cells, their own pipes escaped (a header such as "max |err|" would otherwise be three cells). */
    private static String markdownRow(String[] cells) {
        StringBuilder b = new StringBuilder("|");
        for (String c : cells) b.append(' ').append(c.replace("|", "\\|")).append(" |");
        return b.toString();
    }

    void printText(PrintWriter out) {
        int[] width = new int[headers.length];
        for (int i = 0; i < headers.length; i++) width[i] = headers[i].length();
        for (String[] row : rows) for (int i = 0; i < row.length; i++) width[i] = Math.max(width[i], row[i].length());
        printAligned(out, headers, width);
        for (String[] row : rows) printAligned(out, row, width);
    }

    private void printAligned(PrintWriter out, String[] cells, int[] width) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) line.append("  ");
            String pad = " ".repeat(width[i] - cells[i].length());
            line.append(right[i] ? pad + cells[i] : cells[i] + pad);
        }
        out.println(line.toString().stripTrailing());
    }
}
