package io.rankt5.anserini;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Runs tasks on a pool, a bounded number ahead, and hands their results over in submission order. */
final class Ordered {
  interface Sink<R> {
    void accept(R result) throws Exception;
  }

  private Ordered() {}

  /** Rethrows a task's own exception (unwrapped); cancels the rest on the first failure. */
  static <R> void run(int threads, List<Callable<R>> tasks, Sink<R> sink) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "rankt5-driver");
      t.setDaemon(true);
      return t;
    });
    ArrayDeque<Future<R>> window = new ArrayDeque<>();
    int next = 0;
    try {
      while (next < tasks.size() || !window.isEmpty()) {
        while (next < tasks.size() && window.size() < 2 * threads) {
          window.add(pool.submit(tasks.get(next++)));
        }
        try {
          sink.accept(window.poll().get());
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof Exception ex) {
            throw ex;
          }
          throw (Error) cause;
        }
      }
    } finally {
      for (Future<R> f : window) {
        f.cancel(true);
      }
      pool.shutdownNow();
    }
  }
}
