package io.rankt5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One handle shared by many threads, and closed while they use it. */
class RankT5ConcurrencyTest {
  private static List<String> docs(int seed, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add("passage " + seed + "-" + i + " about bees, honey and nectar ".repeat(1 + (seed + i) % 7));
    }
    return out;
  }

  @Test
  @Timeout(120)
  void eightThreadsScoringAtOnceGetTheSingleThreadedScores() throws Exception {
    try (RankT5 model = TestFiles.openDemo(new RankT5.Options().threads(2))) {
      int threads = 8;
      List<float[]> expected = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        expected.add(model.score("query " + t, docs(t, 20)));
      }
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        final int id = t;
        results.add(pool.submit(() -> {
          start.await();
          int checked = 0;
          for (int round = 0; round < 15; round++) {
            float[] got = model.score("query " + id, docs(id, 20));
            RankT5Test.assertSameBits(expected.get(id), got, "thread " + id + " round " + round);
            checked++;
          }
          return checked;
        }));
      }
      start.countDown();
      int total = 0;
      for (Future<Integer> f : results) {
        total += f.get(100, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertEquals(threads * 15, total);
      assertTrue(model.stats().calls() >= threads * 16L);
    }
  }

  @Test
  @Timeout(120)
  void closeFreesAtOnceAndTheCleanerFreesHandlesNeverClosed() throws Exception {
    long before = RankT5.liveHandles();
    RankT5 closed = TestFiles.openDemo(new RankT5.Options().threads(1));
    assertEquals(before + 1, RankT5.liveHandles());
    closed.close();
    assertEquals(before, RankT5.liveHandles());
    for (int i = 0; i < 3; i++) {
      RankT5 forgotten = TestFiles.openDemo(new RankT5.Options().threads(1));
      forgotten.score("q", List.of("d"));
    }
    assertEquals(before + 3, RankT5.liveHandles());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (RankT5.liveHandles() > before && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(20);
    }
    assertEquals(before, RankT5.liveHandles(), "the Cleaner did not free unreachable handles");
  }

  @Test
  @Timeout(120)
  void closingWhileCallsRunLetsThemFinishOrThrowIllegalState() throws Exception {
    for (int attempt = 0; attempt < 3; attempt++) {
      RankT5 model = TestFiles.openDemo(new RankT5.Options().threads(2).batchTokens(64));
      float[] expected = model.score("q", docs(3, 40));
      int threads = 8;
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      CountDownLatch running = new CountDownLatch(threads);
      AtomicInteger finished = new AtomicInteger();
      AtomicInteger refused = new AtomicInteger();
      AtomicReference<Throwable> unexpected = new AtomicReference<>();
      for (int t = 0; t < threads; t++) {
        pool.submit(() -> {
          running.countDown();
          try {
            while (true) {
              float[] got = model.score("q", docs(3, 40));
              RankT5Test.assertSameBits(expected, got, "before close");
              finished.incrementAndGet();
            }
          } catch (IllegalStateException e) {
            refused.incrementAndGet();
          } catch (Throwable e) {
            unexpected.compareAndSet(null, e);
          }
        });
      }
      running.await();
      Thread.sleep(50L * (attempt + 1));
      model.close();
      pool.shutdown();
      assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS), "threads still running after close");
      if (unexpected.get() != null) {
        throw new AssertionError("a thread failed with something else than IllegalStateException",
            unexpected.get());
      }
      assertEquals(threads, refused.get(), "every thread ends on IllegalStateException once closed");
      assertTrue(finished.get() > 0, "no call finished before close");
    }
  }
}
