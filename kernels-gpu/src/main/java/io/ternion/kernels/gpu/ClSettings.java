package io.ternion.kernels.gpu;

import java.util.List;
import java.util.function.IntSupplier;

/**
 * How {@link ClOps} spreads its kernels over one device, as {@code tornado-config/opencl/*.properties}
 * (and a user's own file) set it; each key's meaning and legal values are described there.
 *
 * @param lanes        work-group size of the per-row kernels (LWS in ternion.cl)
 * @param lanesPerRow  lanes that share one matvec row (LPR)
 * @param rowsPerGroup matvec rows per work-group (RPW)
 * @param tile         prompt tokens per work-item of the tiled matmuls (TILE)
 * @param maxBatch     prompt tokens per device call
 */
public record ClSettings(int lanes, int lanesPerRow, int rowsPerGroup, int tile, int maxBatch) {
    public static final String LANES = "lanes", LANES_PER_ROW = "lanes_per_row", ROWS_PER_GROUP = "rows_per_group",
            TILE = "tile", MAX_BATCH = "max_batch";
    static final List<String> KEYS = List.of(LANES, LANES_PER_ROW, ROWS_PER_GROUP, TILE, MAX_BATCH);
    /** A work-item keeps a float per token of its tile; more than this spills registers on every GPU. */
    static final int MAX_TILE = 32;
    /** A bound that catches a slip of the keyboard: a batch's attention scores alone take batch × heads × context floats. */
    static final int MAX_MAX_BATCH = 4096;
    /** What {@code auto} means in the files. */
    static final String AUTO = "auto";

    public ClSettings {
        if (!powerOfTwo(lanes) || !powerOfTwo(lanesPerRow) || lanesPerRow > lanes || !powerOfTwo(rowsPerGroup)
                || tile < 1 || tile > MAX_TILE || maxBatch < 1 || maxBatch > MAX_MAX_BATCH) {
            throw new IllegalArgumentException("illegal OpenCL launch settings: lanes " + lanes + ", lanes per row " + lanesPerRow
                    + ", rows per group " + rowsPerGroup + ", tile " + tile + ", max batch " + maxBatch);
        }
    }

    /** The settings for {@code d} from its files (see {@link ClSettingsFiles#forDevice(String, String)}). */
    public static ClSettings of(ClDevice d) {
        return resolve(d.type(), d.preferredLanes(), d.maxWorkGroupSize(), ClSettingsFiles.forDevice(d.vendor(), d.type()));
    }

    /**
     * The settings {@code files} give a device of {@code type} ("GPU", "CPU", ...) with these lane
     * and work-group limits; {@code auto} values are computed from them. A pure function, so the
     * choice is testable without a device. A bad value is an {@link OpenClException} naming its file,
     * key and value.
     */
    public static ClSettings resolve(String type, int preferredLanes, long maxWorkGroupSize, ClSettingsFiles files) {
        for (ClSettingsFiles.File f : files.files()) {
            for (String key : f.values().stringPropertyNames()) {
                if (!KEYS.contains(key)) {
                    throw new OpenClException(f.name() + ": '" + key + "' is not a setting (the settings are " + String.join(", ", KEYS) + ")");
                }
            }
        }
        boolean gpu = type.equals("GPU");
        long limit = Math.max(1, maxWorkGroupSize);

        // Work-groups of whole warps or wavefronts, within the device's limit.
        ClSettingsFiles.Value v = require(files, LANES);
        int lanes = number(v, () -> Integer.highestOneBit((int) Math.min(preferredLanes, limit)));
        check(v, powerOfTwo(lanes) && lanes <= limit, "must be a power of two and at most the device's work-group limit (" + limit + ")");

        // A GPU gives each matvec row a warp or wavefront, so its lanes read consecutive weights; a CPU
        // device gives each work-item a whole row, so there are no barriers.
        v = require(files, LANES_PER_ROW);
        int lanesPerRow = number(v, () -> gpu ? lanes : 1);
        check(v, powerOfTwo(lanesPerRow) && lanesPerRow <= lanes, "must be a power of two and at most lanes (" + lanes + ")");

        // One row per group on a GPU; a CPU device's rows go lanes to a group, so there are few groups.
        v = require(files, ROWS_PER_GROUP);
        int rowsPerGroup = number(v, () -> lanesPerRow == 1 ? lanes : 1);
        check(v, powerOfTwo(rowsPerGroup) && (long) rowsPerGroup * lanesPerRow <= limit,
                "must be a power of two, and rows_per_group × lanes_per_row (" + lanesPerRow + ") at most the device's work-group limit (" + limit + ")");

        v = require(files, TILE);
        int tile = number(v, null);
        check(v, tile >= 1 && tile <= MAX_TILE, "must be from 1 to " + MAX_TILE);

        v = require(files, MAX_BATCH);
        int maxBatch = number(v, null);
        check(v, maxBatch >= 1 && maxBatch <= MAX_MAX_BATCH, "must be from 1 to " + MAX_MAX_BATCH);

        return new ClSettings(lanes, lanesPerRow, rowsPerGroup, tile, maxBatch);
    }

    /**
     * These settings with {@code lanesPerRow} lanes per matvec row and the rows per group that go
     * with it by default (1 row per group with shared rows, {@code lanes} with a row per work-item):
     * how tests run both layouts on one device.
     */
    public ClSettings withLanesPerRow(int lanesPerRow) {
        if (!powerOfTwo(lanesPerRow) || lanesPerRow > lanes) throw new IllegalArgumentException("lanes per row " + lanesPerRow);
        return new ClSettings(lanes, lanesPerRow, lanesPerRow == 1 ? lanes : 1, tile, maxBatch);
    }

    /** The -D options that size ternion.cl's kernels. */
    public String buildOptions() {
        return "-DLWS=" + lanes + " -DLPR=" + lanesPerRow + " -DRPW=" + rowsPerGroup + " -DTILE=" + tile;
    }

    private static ClSettingsFiles.Value require(ClSettingsFiles files, String key) {
        ClSettingsFiles.Value v = files.get(key);
        if (v == null) {
            throw new OpenClException("no OpenCL setting '" + key + "' in "
                    + String.join(", ", files.files().stream().map(ClSettingsFiles.File::name).toList()));
        }
        return v;
    }

    /** The value as a number; {@code auto} gives {@code auto}'s value where the key has one. */
    private static int number(ClSettingsFiles.Value v, IntSupplier auto) {
        if (auto != null && v.text().equals(AUTO)) return auto.getAsInt();
        try {
            return Integer.parseInt(v.text());
        } catch (NumberFormatException e) {
            throw problem(v, "is not a whole number" + (auto != null ? " or auto" : ""));
        }
    }

    private static void check(ClSettingsFiles.Value v, boolean ok, String why) {
        if (!ok) throw problem(v, why);
    }

    private static OpenClException problem(ClSettingsFiles.Value v, String why) {
        return new OpenClException(v.file() + ": " + v.key() + " = " + v.text() + ": " + why);
    }

    private static boolean powerOfTwo(long n) {
        return n > 0 && Long.bitCount(n) == 1;
    }
}
