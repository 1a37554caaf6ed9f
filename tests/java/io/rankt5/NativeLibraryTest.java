package io.rankt5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader's order (system property, java.library.path, the jar's copy) in fresh child JVMs. */
class NativeLibraryTest {
  private static List<String> java(String... props) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.addAll(List.of(props));
    cmd.add(LoaderChild.class.getName());
    cmd.add(TestFiles.demoModel().toString());
    cmd.add(TestFiles.spiece().toString());
    return cmd;
  }

  @Test
  void twoJvmsExtractingIntoTheSameEmptyCacheAtOnceBothLoad(@TempDir Path cache) throws Exception {
    List<CompletableFuture<TestFiles.Result>> runs = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      runs.add(CompletableFuture.supplyAsync(() -> {
        try {
          return TestFiles.run(java("-Drankt5.native.cache=" + cache), new byte[0]);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      }));
    }
    String first = null;
    for (CompletableFuture<TestFiles.Result> f : runs) {
      TestFiles.Result r = f.join();
      assertEquals(0, r.status(), r.err());
      assertTrue(r.out().contains("from jar"), r.out());
      assertTrue(r.err().isEmpty(), "stderr not quiet: " + r.err());
      String score = r.out().split(" ")[1];
      if (first != null) {
        assertEquals(first, score);
      }
      first = score;
    }
    try (Stream<Path> files = Files.walk(cache)) {
      List<Path> libs = files.filter(p -> p.getFileName().toString().endsWith(".so")).toList();
      assertEquals(1, libs.size(), "one extracted copy, no temporary left: " + libs);
    }
    try (Stream<Path> files = Files.walk(cache)) {
      assertEquals(0, files.filter(p -> p.getFileName().toString().endsWith(".tmp")).count());
    }
  }

  @Test
  void theSystemPropertyComesFirstAndAWrongOneIsAnError(@TempDir Path dir) throws Exception {
    Path copy = dir.resolve("librankt5jni-copy.so");
    Path jarCopy = Paths.get(LoaderChild.class.getResource("/" + NativeLibrary.platform() + "/librankt5jni.so")
        .toURI());
    Files.copy(jarCopy, copy);
    TestFiles.Result r = TestFiles.run(java("-Drankt5.native.lib=" + copy), new byte[0]);
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("from -Drankt5.native.lib=" + copy), r.out());

    Path missing = dir.resolve("nothing-here.so");
    r = TestFiles.run(java("-Drankt5.native.lib=" + missing), new byte[0]);
    assertNotEquals(0, r.status());
    assertTrue(r.err().contains("rankt5.native.lib=" + missing), r.err());
  }

  @Test
  void javaLibraryPathComesBeforeTheJar(@TempDir Path dir) throws Exception {
    Path jarCopy = Paths.get(LoaderChild.class.getResource("/" + NativeLibrary.platform() + "/librankt5jni.so")
        .toURI());
    Files.copy(jarCopy, dir.resolve("librankt5jni.so"));
    TestFiles.Result r = TestFiles.run(java("-Djava.library.path=" + dir), new byte[0]);
    assertEquals(0, r.status(), r.err());
    assertTrue(r.out().contains("from java.library.path"), r.out());
  }
}
