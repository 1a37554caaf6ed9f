#!/usr/bin/env python3
"""bench_server.py -- load benchmarks of `rankt5 serve` (Python standard library
client; numpy only for make-model).

  throughput  The same pairs scored by `rankt5 score` and by the server under
              N concurrent clients (default 8), alternated --repeat times;
              prints pairs/s of both, the median ratio server / CLI.
  soak        Measures the server's capacity with N closed-loop clients, then
              offers --overload x that rate (default 2x) open-loop for
              --duration seconds (the issue's check is 600; default 60).
              Every response is checked against `rankt5 score` for its pairs
              and its x-request-id is checked unique: a lost (no answer /
              connection error), wrong or duplicated response is counted.
              Reports 200/429/other counts, p50/p90/p99/max latency of
              admitted requests, the server's RSS over time, its exit status
              after SIGTERM.
  make-model  Writes a random-weight RankT5-shaped checkpoint (t5-small-like
              by default: d_model 512, 6 layers, t5's 32128-row vocabulary,
              fp16) so the benches run a model whose cost dominates HTTP's.

Pairs are built from tests/fixtures/demo (queries x passages, 1-4 passages
joined to get MS MARCO-like lengths), deterministic per --seed.

Examples (docs/server.md has the measured numbers):
  python3 eval/bench/bench_server.py make-model /tmp/rt5-small
  python3 eval/bench/bench_server.py throughput --model /tmp/rt5-small/model.safetensors \\
      --tokenizer ../shared/tokenizer/t5-spiece.model --threads 2
  python3 eval/bench/bench_server.py soak --model /tmp/rt5-small/model.safetensors \\
      --tokenizer ../shared/tokenizer/t5-spiece.model --threads 2 --duration 600
"""
import argparse
import http.client
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
DEMO = os.path.join(SRC, "tests", "fixtures", "demo")


def default_cli():
    for d in ("build", "build-srv"):
        p = os.path.join(SRC, d, "rankt5")
        if os.path.exists(p):
            return p
    return "rankt5"


# ---------------------------------------------------------------- workload

def build_requests(n_pairs, docs_per_request, seed):
    """[(query, [documents])] with n_pairs documents in all."""
    rnd = random.Random(seed)
    queries = [l.rstrip("\n").split("\t", 1)[1] for l in open(os.path.join(DEMO, "queries.tsv")) if "\t" in l]
    passages = [l.rstrip("\n").split("\t", 1)[1] for l in open(os.path.join(DEMO, "collection.tsv")) if "\t" in l]
    requests, left = [], n_pairs
    while left > 0:
        k = min(docs_per_request, left)
        docs = [" ".join(rnd.sample(passages, rnd.randint(1, 4))) for _ in range(k)]
        requests.append((rnd.choice(queries), docs))
        left -= k
    return requests


def cli_score(cli, model, tokenizer, threads, requests, tmp):
    """Runs `rankt5 score` on every pair; returns (pairs/s it reports, scores per request)."""
    path = os.path.join(tmp, "pairs.jsonl")
    with open(path, "w") as f:
        for q, docs in requests:
            for d in docs:
                f.write(json.dumps({"query": q, "document": d}) + "\n")
    cmd = [cli, "score", "--model", model, "--tokenizer", tokenizer, "--input", path]
    if threads:
        cmd += ["--threads", str(threads)]
    before = os.times()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.monotonic() - t0
    after = os.times()
    cli_score.last = (wall, (after.children_user - before.children_user) +
                      (after.children_system - before.children_system))
    m = re.search(r"([0-9.]+) pairs/s", p.stderr)
    scores = [json.loads(l)["score"] for l in p.stdout.splitlines()]
    out, k = [], 0
    for _, docs in requests:
        out.append(scores[k:k + len(docs)])
        k += len(docs)
    return float(m.group(1)) if m else float("nan"), out


# ---------------------------------------------------------------- server

class Server:
    def __init__(self, cli, model, tokenizer, threads, extra):
        self.tmp = tempfile.mkdtemp(prefix="rt5-bench-")
        port_file = os.path.join(self.tmp, "port")
        cmd = [cli, "serve", "--model", model, "--tokenizer", tokenizer, "--port", "0", "--port-file", port_file]
        if threads:
            cmd += ["--threads", str(threads)]
        self.log = open(os.path.join(self.tmp, "serve.log"), "w")
        self.proc = subprocess.Popen(cmd + list(extra), stderr=self.log, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server failed to start: " + open(self.log.name).read())
            time.sleep(0.05)
        self.port = int(open(port_file).read())

    def cpu_seconds(self):
        """user + system CPU time of the server so far."""
        f = open("/proc/%d/stat" % self.proc.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        try:
            for line in open("/proc/%d/status" % self.proc.pid):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=120)
        self.log.close()
        return rc, open(self.log.name).read()


ENDPOINTS = ("/rerank", "/v2/rerank", "/v1/rerank")


def request_body(endpoint, query, docs):
    if endpoint == "/rerank":
        return {"query": query, "texts": docs, "raw_scores": True}
    if endpoint == "/v2/rerank":
        return {"model": "rankt5", "query": query, "documents": docs}
    return {"query": query, "documents": docs, "return_documents": False}


def logits_of(endpoint, body):
    """{index: logit} from any of the three response shapes."""
    if endpoint == "/rerank":
        return {r["index"]: r["score"] for r in body}
    out = {}
    for r in body["results"]:
        s = min(max(r["relevance_score"], 1e-300), 1 - 1e-16)
        out[r["index"]] = math.log(s / (1 - s))
    return out


def post(port, endpoint, query, docs, timeout=300):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", endpoint, json.dumps(request_body(endpoint, query, docs)),
                     {"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheader("x-request-id"), data
    finally:
        conn.close()


def answer_is_right(endpoint, data, want, tol):
    try:
        got = logits_of(endpoint, json.loads(data))
    except (ValueError, KeyError, TypeError):
        return False
    if sorted(got) != list(range(len(want))):
        return False
    # sigmoid round trip loses precision far from 0: compare in logit space
    # with a tolerance that grows with |logit|
    return all(abs(got[i] - w) <= tol * max(1.0, abs(w)) * (1 if endpoint == "/rerank" else 50)
               for i, w in enumerate(want))


def closed_loop(port, requests, clients, want=None):
    """clients threads send requests (round-robin endpoints) until done; returns (seconds, errors)."""
    lock = threading.Lock()
    nxt = [0]
    errors = []

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(requests):
                return
            ep = ENDPOINTS[i % 3]
            q, docs = requests[i]
            st, _, data = post(port, ep, q, docs)
            if st != 200 or (want and not answer_is_right(ep, data, want[i], 1e-4)):
                errors.append((i, st))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, errors


# ---------------------------------------------------------------- commands

def cmd_throughput(a):
    """Wall-clock pairs/s and CPU-seconds per pair of the server and the CLI.

    The CLI's steady state is measured by difference: the same command on the
    pairs twice over minus once, which removes model loading and warm-up
    (the server is warmed up before it is timed). On a shared machine the
    CPU-seconds per pair are the steadier comparison of the two code paths.
    """
    requests = build_requests(a.pairs, a.docs_per_request, a.seed)
    n = sum(len(d) for _, d in requests)
    tmp = tempfile.mkdtemp(prefix="rt5-bench-")
    srv = Server(a.cli, a.model, a.tokenizer, a.threads, a.serve_arg)
    rows = []
    try:
        post(srv.port, "/rerank", *requests[0])  # warm-up
        for rep in range(a.repeat):
            cold, want = cli_score(a.cli, a.model, a.tokenizer, a.threads, requests, tmp)
            wall1, cpu1 = cli_score.last
            cli_score(a.cli, a.model, a.tokenizer, a.threads, requests + requests, tmp)
            wall2, cpu2 = cli_score.last
            cli_rate, cli_cpu = n / max(wall2 - wall1, 1e-9), (cpu2 - cpu1) / n
            c0 = srv.cpu_seconds()
            secs, errors = closed_loop(srv.port, requests, a.clients, want)
            srv_cpu = (srv.cpu_seconds() - c0) / n
            if errors:
                print("errors:", errors[:10], file=sys.stderr)
            rows.append((cold, cli_rate, n / secs, cli_cpu, srv_cpu))
            print("repeat %d: rankt5 score %.2f pairs/s cold (as it reports), %.2f steady; server (%d clients) "
                  "%.2f pairs/s; CPU ms/pair: score %.1f, server %.1f" %
                  (rep + 1, cold, cli_rate, a.clients, n / secs, cli_cpu * 1e3, srv_cpu * 1e3), flush=True)
    finally:
        rc, log = srv.stop()
    med = lambda k: statistics.median(r[k] for r in rows)
    print("pairs %d in requests of %d documents, %s threads, %d clients, %d repeats" %
          (n, a.docs_per_request, a.threads or "all", a.clients, a.repeat))
    print("median pairs/s: rankt5 score cold %.2f, steady %.2f; server %.2f -> server / steady score %.3f "
          "(per repeat: %s)" % (med(0), med(1), med(2), statistics.median(r[2] / r[1] for r in rows),
                                 ", ".join("%.3f" % (r[2] / r[1]) for r in rows)))
    print("median CPU ms/pair: rankt5 score %.2f, server %.2f -> efficiency score / server %.3f" %
          (med(3) * 1e3, med(4) * 1e3, statistics.median(r[3] / r[4] for r in rows)))
    print("server exit status after SIGTERM: %d" % rc)
    return 0 if rc == 0 else 1


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(math.ceil(p / 100.0 * len(xs))) - 1)]


def cmd_soak(a):
    requests = build_requests(a.pairs, a.docs_per_request, a.seed)
    tmp = tempfile.mkdtemp(prefix="rt5-bench-")
    _, want = cli_score(a.cli, a.model, a.tokenizer, a.threads, requests, tmp)
    srv = Server(a.cli, a.model, a.tokenizer, a.threads, ["--max-queue", str(a.max_queue)] + a.serve_arg)
    try:
        post(srv.port, "/rerank", *requests[0])
        probe = requests[:max(a.clients * 2, 16)]
        secs, _ = closed_loop(srv.port, probe, a.clients)
        capacity = len(probe) / secs
        rate = capacity * a.overload
        print("capacity %.2f requests/s (%d docs each); offering %.2f requests/s for %d s" %
              (capacity, a.docs_per_request, rate, a.duration), flush=True)
        stats = {"200": 0, "429": 0, "other": 0, "lost": 0, "wrong": 0, "late_starts": 0}
        latencies, ids, rss = [], set(), []
        dup = [0]
        lock = threading.Lock()
        slots = threading.Semaphore(a.max_inflight)
        t0 = time.monotonic()
        stop_at = t0 + a.duration

        def one(i, scheduled):
            try:
                ep = ENDPOINTS[i % 3]
                q, docs = requests[i % len(requests)]
                start = time.monotonic()
                try:
                    st, rid, data = post(srv.port, ep, q, docs, timeout=a.client_timeout)
                except OSError:
                    with lock:
                        stats["lost"] += 1
                    return
                lat = time.monotonic() - start
                with lock:
                    if rid in ids:
                        dup[0] += 1
                    ids.add(rid)
                    if st == 200:
                        stats["200"] += 1
                        latencies.append(lat)
                    elif st == 429:
                        stats["429"] += 1
                    else:
                        stats["other"] += 1
                if st == 200 and not answer_is_right(ep, data, want[i % len(requests)], 1e-4):
                    with lock:
                        stats["wrong"] += 1
            finally:
                slots.release()

        def sampler():
            while time.monotonic() < stop_at + 5:
                rss.append((time.monotonic() - t0, srv.rss_kib()))
                time.sleep(1.0)

        threading.Thread(target=sampler, daemon=True).start()
        threads, i = [], 0
        while True:
            scheduled = t0 + i / rate
            if scheduled >= stop_at:
                break
            now = time.monotonic()
            if scheduled > now:
                time.sleep(scheduled - now)
            if not slots.acquire(timeout=0):
                stats["late_starts"] += 1
                slots.acquire()
            th = threading.Thread(target=one, args=(i, scheduled))
            th.start()
            threads.append(th)
            if len(threads) > 4096:
                threads = [t for t in threads if t.is_alive()]
            i += 1
        for th in threads:
            th.join()
        elapsed = time.monotonic() - t0
        sent = i
        st, _, _ = post(srv.port, "/rerank", *requests[0])
        healthy = st == 200
    finally:
        rc, log = srv.stop()
    answered = stats["200"] + stats["429"] + stats["other"]
    print("sent %d requests: %d x 200, %d x 429, %d other, %d lost, %d wrong, %d duplicated ids "
          "(answered %d of %d)" % (sent, stats["200"], stats["429"], stats["other"], stats["lost"],
                                   stats["wrong"], dup[0], answered, sent))
    print("admitted latency: p50 %.3f s, p90 %.3f s, p99 %.3f s, max %.3f s" %
          (percentile(latencies, 50), percentile(latencies, 90), percentile(latencies, 99),
           max(latencies) if latencies else float("nan")))
    if rss:
        first = [k for t, k in rss if t < 10] or [rss[0][1]]
        last = [k for t, k in rss if t > a.duration - 10] or [rss[-1][1]]
        print("server RSS: first 10 s max %.1f MiB, last 10 s max %.1f MiB, overall max %.1f MiB" %
              (max(first) / 1024, max(last) / 1024, max(k for _, k in rss) / 1024))
    print("admitted throughput %.2f requests/s over %.1f s; %d sends started late (all %d client slots busy)" %
          (stats["200"] / elapsed, elapsed, stats["late_starts"], a.max_inflight))
    print("healthy after the soak: %s; exit status after SIGTERM: %d" % (healthy, rc))
    ok = (rc == 0 and healthy and stats["lost"] == 0 and stats["wrong"] == 0 and dup[0] == 0 and
          stats["other"] == 0 and answered == sent)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def cmd_make_model(a):
    import numpy as np  # Debian: python3-numpy
    rnd = np.random.default_rng(a.seed)
    d, f, h, kv, L, V = a.d_model, a.d_ff, a.heads, a.d_model // a.heads, a.layers, 32128
    t = {}

    def w(name, *shape, scale=None):
        s = scale if scale is not None else 1.0 / math.sqrt(shape[-1])
        t[name] = (rnd.standard_normal(shape, dtype=np.float32) * s).astype(np.float16)

    w("model.shared.weight", V, d, scale=1.0)
    t["model.encoder.embed_tokens.weight"] = t["model.shared.weight"]
    for i in range(L):
        p = "model.encoder.block.%d.layer." % i
        for m in "qkvo":
            w(p + "0.SelfAttention.%s.weight" % m, d, d)
        if i == 0:
            w(p + "0.SelfAttention.relative_attention_bias.weight", 32, h, scale=0.5)
        t[p + "0.layer_norm.weight"] = np.ones(d, np.float16)
        w(p + "1.DenseReluDense.wi.weight", f, d)
        w(p + "1.DenseReluDense.wo.weight", d, f)
        t[p + "1.layer_norm.weight"] = np.ones(d, np.float16)
    t["model.encoder.final_layer_norm.weight"] = np.ones(d, np.float16)
    w("first_transform.weight", d, d)
    t["first_transform.bias"] = np.zeros(d, np.float16)
    t["layer_norm.weight"] = np.ones(d, np.float16)
    t["layer_norm.bias"] = np.zeros(d, np.float16)
    w("linear.weight", 1, d)
    t["linear.bias"] = np.zeros(1, np.float16)
    os.makedirs(a.out, exist_ok=True)
    header, offset, blobs = {}, 0, []
    for name in sorted(t):
        b = t[name].tobytes()
        header[name] = {"dtype": "F16", "shape": list(t[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    path = os.path.join(a.out, "model.safetensors")
    with open(path + ".tmp", "wb") as fo:
        fo.write(len(hj).to_bytes(8, "little"))
        fo.write(hj)
        for b in blobs:
            fo.write(b)
    os.replace(path + ".tmp", path)
    cfg = {"vocab_size": V, "d_model": d, "d_kv": kv, "d_ff": f, "num_layers": L, "num_heads": h,
           "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
           "layer_norm_epsilon": 1e-6, "feed_forward_proj": "relu", "model_type": "t5",
           "note": "random weights, benchmark only"}
    with open(os.path.join(a.out, "config.json"), "w") as fo:
        json.dump(cfg, fo, indent=1)
    print("wrote %s (%.1f MB)" % (path, os.path.getsize(path) / 1e6))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("throughput", "soak"):
        s = sub.add_parser(name)
        s.add_argument("--model", required=True)
        s.add_argument("--tokenizer", required=True)
        s.add_argument("--cli", default=default_cli())
        s.add_argument("--threads", type=int, default=0, help="engine threads for both (default all)")
        s.add_argument("--clients", type=int, default=8)
        s.add_argument("--docs-per-request", type=int, default=16)
        s.add_argument("--pairs", type=int, default=512)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--serve-arg", action="append", default=[], help="extra argument for rankt5 serve")
        if name == "throughput":
            s.add_argument("--repeat", type=int, default=3)
        else:
            s.add_argument("--duration", type=int, default=60)
            s.add_argument("--overload", type=float, default=2.0)
            s.add_argument("--max-inflight", type=int, default=256)
            s.add_argument("--max-queue", type=int, default=8, help="rankt5 serve --max-queue (default 8)")
            s.add_argument("--client-timeout", type=float, default=300)
    m = sub.add_parser("make-model")
    m.add_argument("out")
    m.add_argument("--d-model", type=int, default=512)
    m.add_argument("--d-ff", type=int, default=2048)
    m.add_argument("--heads", type=int, default=8)
    m.add_argument("--layers", type=int, default=6)
    m.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    return {"throughput": cmd_throughput, "soak": cmd_soak, "make-model": cmd_make_model}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
