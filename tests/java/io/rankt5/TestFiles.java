package io.rankt5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the Java tests find the repository's fixtures, t5's tokenizer and the built {@code rankt5} CLI (surefire
 * passes their paths as system properties; see pom.xml), and how they run the CLI as the reference.
 */
public final class TestFiles {
  private TestFiles() {}

  public static Path source() {
    return Paths.get(System.getProperty("rankt5.source.dir", ".")).toAbsolutePath();
  }

  /** t5's spiece.model: $RANKT5_T5_SPIECE, else $RT5_SHARED_DIR or ../shared, tokenizer/t5-spiece.model. */
  public static Path spiece() {
    String env = System.getenv("RANKT5_T5_SPIECE");
    if (env != null && !env.isEmpty()) {
      return Paths.get(env);
    }
    return sharedDir().resolve("tokenizer/t5-spiece.model");
  }

  public static Path tokenizerJson() {
    return sharedDir().resolve("tokenizer/t5-tokenizer.json");
  }

  public static Path sharedDir() {
    String env = System.getenv("RT5_SHARED_DIR");
    if (env != null && !env.isEmpty()) {
      return Paths.get(env);
    }
    return Paths.get(System.getProperty("rankt5.shared.dir", source().resolve("../shared").toString()));
  }

  /** The tiny random-weight demo model (models/demo/gen_demo_model.py). */
  public static Path demoModel() {
    return source().resolve("tests/fixtures/demo/model");
  }

  public static Path demo(String name) {
    return source().resolve("tests/fixtures/demo").resolve(name);
  }

  public static Path cli() {
    Path cli = Paths.get(System.getProperty("rankt5.cli", source().resolve("target/native/rankt5").toString()));
    assumeTrue(Files.isExecutable(cli), "the rankt5 CLI is not built at " + cli);
    return cli;
  }

  /** Opens the demo model with t5's spiece.model and the given options. */
  public static RankT5 openDemo(RankT5.Options options) {
    return RankT5.open(demoModel(), options.tokenizer(spiece()));
  }

  /** One process run: exit status, stdout and stderr. */
  public record Result(int status, String out, String err) {}

  /** Runs a command with stdin bytes; fails the test after 120 s. */
  public static Result run(List<String> command, byte[] stdin) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).start();
    CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()));
    CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
    try (OutputStream in = p.getOutputStream()) {
      in.write(stdin);
    }
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + command);
    }
    return new Result(p.exitValue(), new String(out.join(), StandardCharsets.UTF_8),
        new String(err.join(), StandardCharsets.UTF_8));
  }

  private static byte[] readAll(InputStream in) {
    try {
      return in.readAllBytes();
    } catch (IOException e) {
      return new byte[0];
    }
  }

  /** A JSON string literal of s as the CLI's JSON reader takes it: UTF-8 as Java encodes it, controls escaped. */
  public static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }

  /** Scores (query, document) pairs with {@code rankt5 score} -- the reference for bit-identical scores. */
  public static float[] cliScore(Path model, Path tokenizer, List<String> extraArgs, List<String[]> pairs)
      throws IOException, InterruptedException {
    StringBuilder in = new StringBuilder();
    for (String[] p : pairs) {
      in.append("{\"query\": ").append(json(p[0])).append(", \"document\": ").append(json(p[1])).append("}\n");
    }
    return cliScoreLines(model, tokenizer, extraArgs, in.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** Scores pre-built JSON Lines input ({"query","document"} or {"ids"}) with {@code rankt5 score}. */
  public static float[] cliScoreLines(Path model, Path tokenizer, List<String> extraArgs, byte[] jsonl)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(cli().toString(), "score", "--model", model.toString(),
        "--tokenizer", tokenizer.toString(), "--quiet"));
    cmd.addAll(extraArgs);
    Result r = run(cmd, jsonl);
    assertEquals(0, r.status(), "rankt5 score failed: " + r.err());
    List<Float> scores = new ArrayList<>();
    Matcher m = Pattern.compile("\\{\"score\": ([^}]+)\\}").matcher(r.out());
    while (m.find()) {
      scores.add(Float.parseFloat(m.group(1)));
    }
    float[] out = new float[scores.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = scores.get(i);
    }
    return out;
  }

  /** The ids {@code rankt5 tokenize} gives a pair (its JSON reader, unlike score's, accepts U+0000). */
  public static String cliTokenizePair(Path tokenizer, String query, String doc)
      throws IOException, InterruptedException {
    String line = "{\"query\": " + json(query) + ", \"document\": " + json(doc) + "}\n";
    Result r = run(List.of(cli().toString(), "tokenize", "--tokenizer", tokenizer.toString()),
        line.getBytes(StandardCharsets.UTF_8));
    assertEquals(0, r.status(), "rankt5 tokenize failed: " + r.err());
    Matcher m = Pattern.compile("\"ids\": (\\[[^\\]]*\\])").matcher(r.out());
    if (!m.find()) {
      throw new AssertionError("no ids in rankt5 tokenize's output: " + r.out());
    }
    return m.group(1);
  }

  public static byte[] bytes(String s) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    return b.toByteArray();
  }
}
