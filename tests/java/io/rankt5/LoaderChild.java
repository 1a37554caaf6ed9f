package io.rankt5;

import java.nio.file.Path;
import java.util.List;

/** Run in a child JVM by NativeLibraryTest: loads the library, scores one pair, prints where it came from. */
public final class LoaderChild {
  private LoaderChild() {}

  public static void main(String[] args) {
    try (RankT5 m = RankT5.open(Path.of(args[0]), new RankT5.Options().tokenizer(Path.of(args[1])).threads(1))) {
      float s = m.score("how do bees make honey", List.of("Worker bees collect nectar."))[0];
      System.out.println("score " + Float.floatToIntBits(s) + " from " + m.info().libraryLoadedFrom());
    }
  }
}
