package io.rankt5;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Finds and loads {@code librankt5jni}, once per JVM, trying in order:
 *
 * <ol>
 *   <li>the file named by the system property {@value #PATH_PROPERTY};
 *   <li>{@code System.loadLibrary("rankt5jni")}, i.e. {@code java.library.path};
 *   <li>the copy inside this jar under {@code <os>-<arch>/} (e.g. {@code linux-x86_64/librankt5jni.so}), extracted
 *       to {@code <cache>/<sha-256 of the library>/} and loaded with {@code System.load}. The cache is the system
 *       property {@value #CACHE_PROPERTY}, else {@code ${java.io.tmpdir}/rankt5-<user>}. The file is written to a
 *       temporary name and renamed into place, so JVMs starting at the same time never load a half-written copy.
 * </ol>
 *
 * If all fail, the error lists every place tried and why.
 */
final class NativeLibrary {
  static final String PATH_PROPERTY = "rankt5.native.lib";
  static final String CACHE_PROPERTY = "rankt5.native.cache";
  static final String NAME = "rankt5jni";

  private static boolean loaded;
  private static String loadedFrom;

  private NativeLibrary() {}

  /** Loads the library if not yet loaded; throws {@link UnsatisfiedLinkError} listing every place tried. */
  static synchronized void load() {
    if (loaded) {
      return;
    }
    List<String> tried = new ArrayList<>();
    String explicit = System.getProperty(PATH_PROPERTY);
    if (explicit != null && !explicit.isEmpty()) {
      // An explicit choice is never silently replaced by another copy.
      Path path = Paths.get(explicit).toAbsolutePath();
      try {
        System.load(path.toString());
        done("-D" + PATH_PROPERTY + "=" + path);
        return;
      } catch (UnsatisfiedLinkError e) {
        throw new UnsatisfiedLinkError("rankt5: cannot load the library named by -D" + PATH_PROPERTY + "=" + path
            + ": " + e.getMessage());
      }
    }
    tried.add("-D" + PATH_PROPERTY + ": not set");
    try {
      System.loadLibrary(NAME);
      done("java.library.path");
      return;
    } catch (UnsatisfiedLinkError e) {
      tried.add("java.library.path (" + System.getProperty("java.library.path") + "): " + e.getMessage());
    }
    String resource = "/" + platform() + "/" + System.mapLibraryName(NAME);
    try {
      Path file = extract(resource);
      System.load(file.toString());
      done("jar " + resource + " -> " + file);
      return;
    } catch (IOException | UncheckedIOException | UnsatisfiedLinkError e) {
      tried.add("jar resource " + resource + ": " + e.getMessage());
    }
    throw new UnsatisfiedLinkError("rankt5: cannot load lib" + NAME + "; tried:\n  " + String.join("\n  ", tried)
        + "\n(the library needs Debian's libdnnl, libjansson and libgomp: see docs/anserini.md)");
  }

  /** Where the library was loaded from (for {@link RankT5.Info}), or null before loading. */
  static synchronized String loadedFrom() {
    return loadedFrom;
  }

  private static void done(String from) {
    loaded = true;
    loadedFrom = from;
  }

  /** The jar's platform folder of this JVM: {@code linux-x86_64}, {@code linux-aarch64}, ... */
  static String platform() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    os = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macos" : os.replaceAll("[^a-z0-9]", "");
    arch = switch (arch) {
      case "amd64", "x86_64" -> "x86_64";
      case "aarch64", "arm64" -> "aarch64";
      default -> arch;
    };
    return os + "-" + arch;
  }

  /** Copies the resource to {@code <cache>/<sha-256>/<name>} unless an identical copy is there already. */
  private static Path extract(String resource) throws IOException {
    byte[] bytes;
    try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("not in the jar (no build for " + platform() + ")");
      }
      bytes = in.readAllBytes();
    }
    String digest = sha256(bytes);
    Path dir = cacheRoot().resolve(digest.substring(0, 16));
    Path target = dir.resolve(resource.substring(resource.lastIndexOf('/') + 1));
    if (Files.isRegularFile(target) && Files.size(target) == bytes.length
        && sha256(Files.readAllBytes(target)).equals(digest)) {
      return target;
    }
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + NAME, ".tmp");
    try {
      Files.write(tmp, bytes);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
    return target;
  }

  private static Path cacheRoot() {
    String configured = System.getProperty(CACHE_PROPERTY);
    if (configured != null && !configured.isEmpty()) {
      return Paths.get(configured);
    }
    String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_");
    return Paths.get(System.getProperty("java.io.tmpdir"), "rankt5-" + user);
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}
