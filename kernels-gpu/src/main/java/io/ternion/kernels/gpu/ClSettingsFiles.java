package io.ternion.kernels.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The launch settings files that apply to one device, most specific first: the user's own file
 * ({@code -Dternion.opencl.config=FILE}), the file for the device's type or vendor, and
 * {@code default.properties}. The last two are {@code tornado-config/opencl/} of the repository,
 * packed into this jar. A key takes its value from the first file that has it, so a user's file
 * needs only the keys it changes.
 */
public final class ClSettingsFiles {
    /** The system property naming the user's own settings file. */
    public static final String PROPERTY = "ternion.opencl.config";
    /** Where the files are in the repository, and in the jar under the same path. */
    static final String DIR = "tornado-config/opencl/";

    /** One file's settings, named as errors should name it. */
    public record File(String name, Properties values) {}

    /** One setting's text and the file it came from. */
    public record Value(String key, String text, String file) {}

    private final List<File> files;

    public ClSettingsFiles(List<File> files) {
        this.files = List.copyOf(files);
    }

    /** The files for a device: {@link #PROPERTY}'s file if it is set, then the jar's. */
    public static ClSettingsFiles forDevice(String vendor, String type) {
        String user = System.getProperty(PROPERTY, "").strip();
        return forDevice(vendor, type, user.isEmpty() ? null : Path.of(user));
    }

    /** The files for a device, with {@code userFile} (null: none) before the jar's. */
    public static ClSettingsFiles forDevice(String vendor, String type, Path userFile) {
        List<File> files = new ArrayList<>();
        if (userFile != null) files.add(read(userFile));
        String matched = matchedFile(vendor, type);
        if (matched != null) files.add(resource(matched));
        files.add(resource("default.properties"));
        return new ClSettingsFiles(files);
    }

    /**
     * The jar's file for a device beside default.properties: {@code cpu.properties} for a CPU device
     * whoever made it (the layout follows the hardware, not the vendor), a GPU's by its vendor string,
     * and none for others (they take default.properties alone).
     */
    static String matchedFile(String vendor, String type) {
        if (type.equals("CPU")) return "cpu.properties";
        if (!type.equals("GPU")) return null;
        String v = vendor.toLowerCase(Locale.ROOT);
        if (v.contains("nvidia")) return "nvidia.properties";
        if (v.contains("advanced micro devices") || v.contains("amd")) return "amd.properties";
        if (v.contains("intel")) return "intel.properties";
        if (v.contains("apple")) return "apple.properties";
        return null;
    }

    public List<File> files() { return files; }

    /** {@code key}'s value from the first file that has it, or null when none does. */
    public Value get(String key) {
        for (File f : files) {
            String v = f.values().getProperty(key);
            if (v != null) return new Value(key, v.strip(), f.name());
        }
        return null;
    }

    private static File resource(String name) {
        String path = DIR + name;
        try (InputStream in = ClSettingsFiles.class.getResourceAsStream("/" + path)) {
            if (in == null) throw new IllegalStateException(path + " is missing from the jar");
            Properties p = new Properties();
            p.load(new InputStreamReader(in, StandardCharsets.UTF_8));
            return new File(path, p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static File read(Path file) {
        // A settings file is a few lines: a pipe or a device in its place must not hang or fill the heap.
        try (Reader r = new java.io.StringReader(new String(io.ternion.gguf.InputFiles.readAtMost(file, 1 << 20, "an OpenCL settings file"),
                StandardCharsets.UTF_8))) {
            Properties p = new Properties();
            p.load(r);
            return new File(file.toString(), p);
        } catch (NoSuchFileException e) {
            throw new OpenClException("the OpenCL settings file -D" + PROPERTY + "=" + file + " does not exist");
        } catch (IOException | IllegalArgumentException e) {
            // IllegalArgumentException: a malformed unicode escape in the file.
            throw new OpenClException("cannot read the OpenCL settings file -D" + PROPERTY + "=" + file + ": " + e.getMessage());
        }
    }
}
