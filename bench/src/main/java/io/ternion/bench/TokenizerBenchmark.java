package io.ternion.bench;

import io.ternion.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoding all of tinyshakespeare (1,115,394 bytes) once, on one thread, with a fresh tokenizer each
 * time so no word is cached from an earlier pass: MB/s = 1.115 / (seconds per op).
 * Needs {@code ../shared/testdata} (or {@code -Dternion.testdata=DIR}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 8)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class TokenizerBenchmark {
    @Param({"llama3", "qwen3"})
    String vocabulary;

    private Path tokenizerJson;
    private String text;
    private Tokenizer tokenizer;

    @Setup(Level.Trial)
    public void load() throws IOException {
        Path data = Path.of(System.getProperty("ternion.testdata", "../shared/testdata"));
        tokenizerJson = data.resolve("tokenizers/" + vocabulary + "-tokenizer.json.gz");
        text = Files.readString(data.resolve("text/tinyshakespeare.txt"));
    }

    @Setup(Level.Iteration)
    public void freshTokenizer() throws IOException {
        tokenizer = Tokenizer.load(tokenizerJson);
    }

    @Benchmark
    public int[] encodeTinyShakespeare() {
        return tokenizer.encode(text, false, false);
    }
}
