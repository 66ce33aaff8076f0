package io.ternion.harness;

import io.ternion.engine.ModelSummary;
import io.ternion.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Objects;

/**
 * The model a report is about, as {@code ternion info} counts it. {@code type} is the type holding
 * most of the parameters; {@code weightBytesPerToken} is what a decode step reads (see
 * {@link ModelSummary}), the numerator of the roofline fraction.
 */
public record ModelInfo(String file, String architecture, String type, long parameters, long sizeBytes,
                        long weightBytesPerToken) {

    /** Reads the file's header (the tensors stay mapped, unread); a missing or corrupt file throws here. */
    public static ModelInfo read(Path path) throws IOException {
        try (GgufFile f = GgufFile.open(path)) {
            return of(f, path);
        }
    }

    static ModelInfo of(GgufFile f, Path path) {
        ModelSummary s = ModelSummary.of(f);
        // By parameters, not bytes: BitNet 2B4T's F16 embedding outweighs its I2_S matrices in bytes.
        String type = s.perType().entrySet().stream().max(Comparator.comparingLong(e -> e.getValue()[1]))
                .map(e -> e.getKey().name()).orElse(null);
        return new ModelInfo(path.toString(), f.architecture(), type, s.parameters(), s.tensorBytes(), s.tokenTrafficBytes());
    }

    /** Whether a baseline measured on {@code other} can be compared with this one (the path may differ). */
    public boolean sameWeightsAs(ModelInfo other) {
        return Objects.equals(architecture, other.architecture) && Objects.equals(type, other.type)
                && parameters == other.parameters && weightBytesPerToken == other.weightBytesPerToken;
    }

    /** e.g. "bitnet-b1.58 I2_S, 2.41 B parameters". */
    public String describe() {
        return architecture + " " + type + ", " + Units.count(parameters) + " parameters";
    }
}
