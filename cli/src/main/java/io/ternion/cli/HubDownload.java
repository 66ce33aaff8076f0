package io.ternion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ternion.graph.Log;
import io.ternion.graph.Progress;
import io.ternion.harness.Units;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Models by name from the Hugging Face hub, as llama.cpp's {@code -hf} finds them: {@code OWNER/REPO}
 * with an optional {@code :QUANT} picks the repository's one .gguf file whose name holds that
 * quantization (or its only .gguf), and {@code hf://OWNER/REPO/FILE.gguf} names the file. Files go
 * to a cache folder and are reused; a download continues where an interrupted one stopped (HTTP
 * Range) and is refused when its sha256 differs from the one the hub gives for the file.
 *
 * <p>Where from and where to come from the environment: {@code HF_ENDPOINT} (the hub's own variable;
 * default https://huggingface.co), {@code HF_TOKEN} for gated or private repositories, and
 * {@code TERNION_CACHE} (default {@code ~/.cache/ternion}); each can also be given as the system
 * property {@code ternion.hf.endpoint}, {@code ternion.hf.token}, {@code ternion.cache}.
 */
final class HubDownload {
    private static final Pattern REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9._-][A-Za-z0-9._/-]{0,250}\\.gguf");
    /** No file a model needs is larger: a bigger Content-Length is a wrong server, not a model. */
    private static final long MAX_BYTES = 1L << 40;

    private final String endpoint;
    private final String token;
    private final Path cache;
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
            .connectTimeout(Duration.ofSeconds(20)).build();

    HubDownload(String endpoint, String token, Path cache) {
        this.endpoint = endpoint.replaceAll("/+$", "");
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.cache = cache;
    }

    static HubDownload fromEnvironment() {
        return new HubDownload(setting("ternion.hf.endpoint", "HF_ENDPOINT", "https://huggingface.co"),
                setting("ternion.hf.token", "HF_TOKEN", null), cacheFolder());
    }

    /** Ternion's cache folder: downloads, and chat's history. */
    static Path cacheFolder() {
        String home = System.getProperty("user.home", ".");
        return Path.of(setting("ternion.cache", "TERNION_CACHE", Path.of(home, ".cache", "ternion").toString()));
    }

    private static String setting(String property, String env, String otherwise) {
        String p = System.getProperty(property);
        if (p != null && !p.isBlank()) return p;
        String e = System.getenv(env);
        return e != null && !e.isBlank() ? e : otherwise;
    }

    /** A repository and, once resolved, one of its files. */
    record Ref(String repo, String file, String quant) {}

    /** {@code hf://OWNER/REPO/FILE.gguf}, {@code OWNER/REPO/FILE.gguf} or {@code OWNER/REPO[:QUANT]}. */
    static Ref parse(String name) {
        String s = name.strip();
        if (s.startsWith("hf://")) s = s.substring(5);
        else if (s.startsWith("https://huggingface.co/")) s = s.substring("https://huggingface.co/".length()).replaceFirst("/(resolve|blob)/main/", "/");
        String quant = null;
        int colon = s.lastIndexOf(':');
        if (colon > 0) {
            quant = s.substring(colon + 1);
            s = s.substring(0, colon);
            if (!quant.matches("[A-Za-z0-9_]{1,32}")) throw new IllegalArgumentException("'" + quant + "' is not a quantization name such as Q2_0 or TQ1_0");
        }
        String[] parts = s.split("/", 3);
        if (parts.length < 2 || !REPO.matcher(parts[0] + "/" + parts[1]).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a model name: give OWNER/REPO[:QUANT] or hf://OWNER/REPO/FILE.gguf");
        }
        String file = parts.length == 3 ? parts[2] : null;
        if (file != null && (!FILE.matcher(file).matches() || file.contains(".."))) {
            throw new IllegalArgumentException("'" + file + "' is not a .gguf file name in the repository");
        }
        if (file != null && quant != null) throw new IllegalArgumentException("'" + name + "': give a file or a :QUANT, not both");
        return new Ref(parts[0] + "/" + parts[1], file, quant);
    }

    /** The model file for {@code name}, downloaded into the cache unless it is there already. */
    Path fetch(String name) throws IOException, InterruptedException {
        Ref ref = parse(name);
        String file = ref.file() != null ? ref.file() : pick(ref, ggufFiles(ref.repo()));
        Path target = cache.resolve("hf").resolve(ref.repo()).resolve(file).normalize();
        if (!target.startsWith(cache.resolve("hf"))) throw new IllegalArgumentException("'" + file + "' leaves the cache folder");
        if (Files.isRegularFile(target)) {
            Log.info("using " + target + " (cached)");
            return target;
        }
        download(ref.repo(), file, target);
        return target;
    }

    /** The .gguf files the hub lists for the repository. */
    private List<String> ggufFiles(String repo) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = send(request(endpoint + "/api/models/" + repo).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() == 401 || r.statusCode() == 403) {
            throw new IOException("the hub refused " + repo + " (HTTP " + r.statusCode() + ")" + (token == null ? ": set HF_TOKEN for a gated or private repository" : ""));
        }
        if (r.statusCode() == 404) throw new IOException("no repository " + repo + " on " + endpoint);
        if (r.statusCode() != 200) throw new IOException("the hub answered HTTP " + r.statusCode() + " for " + repo);
        if (r.body().length > 16 << 20) throw new IOException("the hub's listing of " + repo + " is over 16 MiB");
        JsonNode siblings = new ObjectMapper().readTree(r.body()).path("siblings");
        List<String> out = new ArrayList<>();
        for (JsonNode f : siblings) {
            String n = f.path("rfilename").asText("");
            if (n.endsWith(".gguf") && FILE.matcher(n).matches() && !n.contains("..")) out.add(n);
        }
        return out;
    }

    /** The file for {@code :QUANT} (its name holds the quantization as a word), or the only .gguf. */
    static String pick(Ref ref, List<String> files) {
        if (files.isEmpty()) throw new IllegalArgumentException(ref.repo() + " has no .gguf file");
        List<String> first = files.stream().filter(f -> !f.matches(".*-0000[2-9]-of-.*")).toList(); // split files: their first part
        if (ref.quant() == null) {
            if (first.size() == 1) return first.getFirst();
            throw new IllegalArgumentException(ref.repo() + " has " + first.size() + " .gguf files: pick one with " + ref.repo()
                    + ":QUANT or hf://" + ref.repo() + "/FILE (" + String.join(", ", first) + ")");
        }
        Pattern q = Pattern.compile("(^|[^A-Za-z0-9])" + Pattern.quote(ref.quant().toLowerCase(Locale.ROOT)) + "([^A-Za-z0-9]|$)");
        List<String> match = first.stream().filter(f -> q.matcher(f.toLowerCase(Locale.ROOT)).find()).toList();
        if (match.size() == 1) return match.getFirst();
        throw new IllegalArgumentException(match.isEmpty()
                ? ref.repo() + " has no .gguf file for " + ref.quant() + " (it has " + String.join(", ", first) + ")"
                : ref.repo() + " has " + match.size() + " .gguf files for " + ref.quant() + ": give one with hf://" + ref.repo() + "/FILE ("
                        + String.join(", ", match) + ")");
    }

    /**
     * Downloads into {@code FILE.part} beside the target, continuing a part left by an earlier
     * attempt; checks the sha256 the hub gives (its ETag for large files) and renames.
     */
    private void download(String repo, String file, Path target) throws IOException, InterruptedException {
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        String url = endpoint + "/" + repo + "/resolve/main/" + encodePath(file);
        HttpRequest.Builder req = request(url).GET();
        if (have > 0) req.header("Range", "bytes=" + have + "-");
        HttpResponse<InputStream> r = send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            int status = r.statusCode();
            if (status == 416 && have > 0) { // the part is whole already
                finish(repo, file, part, target, r.headers().firstValue("x-linked-etag").or(() -> r.headers().firstValue("etag")));
                return;
            }
            if (status == 401 || status == 403) throw new IOException("the hub refused " + repo + "/" + file + " (HTTP " + status + ")" + (token == null ? ": set HF_TOKEN" : ""));
            if (status == 404) throw new IOException("no file " + file + " in " + repo);
            if (status != 200 && status != 206) throw new IOException("the hub answered HTTP " + status + " for " + repo + "/" + file);
            boolean resumed = status == 206;
            if (!resumed) have = 0; // the server sent the whole file: start over
            long length = r.headers().firstValueAsLong("content-length").orElse(-1);
            long total = length < 0 ? -1 : have + length;
            if (total > MAX_BYTES) throw new IOException("the hub says " + file + " has " + total + " bytes; no model is that large");
            if (resumed) Log.info("resuming " + file + " at " + Units.bytes(have));
            try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    resumed ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                byte[] buf = new byte[1 << 16];
                long done = have;
                // The bar counts what this attempt fetches; a resumed part is already counted in the line above.
                Progress progress = Progress.start("downloading " + file, "downloaded " + file, length, Progress.Unit.BYTES);
                try {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        out.write(buf, 0, n);
                        done += n;
                        if (done > MAX_BYTES) throw new IOException(file + " goes on past " + Units.bytes(MAX_BYTES));
                        progress.advance(n);
                    }
                } catch (IOException e) {
                    progress.clear();
                    // What arrived stays in the part file for the next attempt to continue from.
                    if (done > MAX_BYTES) throw e;
                    throw new IOException("the download of " + file + " stopped at " + done + (total > 0 ? " of " + total : "") + " bytes ("
                            + e.getMessage() + "); run again to resume");
                }
                if (total > 0 && done != total) {
                    progress.clear();
                    throw new IOException("the download of " + file + " stopped at " + done + " of " + total + " bytes; run again to resume");
                }
                progress.done();
            }
        }
        finish(repo, file, part, target, r.headers().firstValue("x-linked-etag").or(() -> r.headers().firstValue("etag")));
    }

    /** Checks the part against the hub's sha256 when it gives one, then puts it in place. */
    private static void finish(String repo, String file, Path part, Path target, Optional<String> etag) throws IOException {
        String want = etag.map(e -> e.replaceFirst("^W/", "").replace("\"", "").toLowerCase(Locale.ROOT)).filter(e -> e.matches("[0-9a-f]{64}")).orElse(null);
        if (want != null) {
            String got = sha256(part);
            if (!got.equals(want)) {
                Files.deleteIfExists(part);
                throw new IOException("the download of " + repo + "/" + file + " is corrupt: its sha256 is " + got + ", the hub says " + want + " (deleted; run again)");
            }
        } else {
            Log.info("the hub gave no sha256 for " + file + ": not checked");
        }
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Log.info("saved " + target);
    }

    private static String sha256(Path p) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String encodePath(String file) {
        List<String> parts = new ArrayList<>();
        for (String p : file.split("/")) parts.add(URLEncoder.encode(p, StandardCharsets.UTF_8).replace("+", "%20"));
        return String.join("/", parts);
    }

    private HttpRequest.Builder request(String url) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(10)).header("User-Agent", "ternion");
        if (token != null) b.header("Authorization", "Bearer " + token);
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> body) throws IOException, InterruptedException {
        try {
            return http.send(req, body);
        } catch (java.net.ConnectException e) {
            throw new IOException("cannot reach " + endpoint + " (" + e.getMessage() + "); is the network up, or HF_ENDPOINT right?", e);
        }
    }
}
