#!/usr/bin/env python3
"""test_server_e2e.py -- `rankt5 serve` over real HTTP, with the real engine.

Run by tests/test_server.sh (RT5_CLI, RT5_SOURCE_DIR, RT5_SHARED_DIR set).
Checks, on the demo model (tests/fixtures/demo, scored by Hugging Face in
hf_scores.jsonl):
  - /v2/rerank, /v1/rerank and /rerank return, for every demo query, the
    scores `rankt5 score` gives the same pairs (and HF's within 1e-4), in
    each API's shape, sorted, sigmoid by default and logits on request;
  - 8 concurrent clients each get their own, correct answers;
  - a corpus of bad requests (truncated JSON, wrong types, huge numbers, deep
    nesting, invalid UTF-8, 10,000 empty documents, oversized bodies,
    missing fields, too-long pairs with truncation off, bad keys, unknown
    routes and methods) is answered with the right 4xx, each followed by a
    healthy /health;
  - /info and /metrics describe the server; SIGTERM drains and exits 0.
Python standard library only.
"""
import http.client
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time

CLI = os.environ["RT5_CLI"]
SRC = os.environ["RT5_SOURCE_DIR"]
SHARED = os.environ["RT5_SHARED_DIR"]
SPM = os.environ.get("RANKT5_T5_SPIECE", os.path.join(SHARED, "tokenizer", "t5-spiece.model"))
DEMO = os.path.join(SRC, "tests", "fixtures", "demo")
MODEL = os.path.join(DEMO, "model", "model.safetensors")
TMP = tempfile.mkdtemp(prefix="rt5-server-test-")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


class Server:
    """A `rankt5 serve` child on a free loopback port."""

    def __init__(self, *extra, model=None):
        self.port_file = os.path.join(TMP, "port.%d" % time.monotonic_ns())
        self.err_path = self.port_file + ".stderr"
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [CLI, "serve", "--model", model or MODEL, "--tokenizer", SPM, "--host", "127.0.0.1", "--port", "0",
             "--port-file", self.port_file, "--threads", "2", *extra],
            stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start: " + open(self.err_path).read())
            time.sleep(0.05)
        self.port = int(open(self.port_file).read())

    def request(self, method, path, body=None, headers=None, raw=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        if raw:
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), payload
        try:
            parsed = json.loads(payload) if payload and not path.startswith("/metrics") else payload
        except ValueError:
            parsed = payload
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), parsed

    def stop(self):
        self.proc.terminate()  # SIGTERM
        rc = self.proc.wait(timeout=60)
        self.err.close()
        return rc, open(self.err_path).read()


def demo_queries():
    queries = {}
    with open(os.path.join(DEMO, "hf_scores.jsonl")) as f:
        next(f)  # versions line
        for line in f:
            r = json.loads(line)
            # grouped by query text: the run's pairs plus HF's edge cases
            # (empty texts, a query and a document over 512 tokens)
            key = r.get("qid") or "q:" + r["query"][:40]
            q = queries.setdefault(key, {"query": r["query"], "docs": [], "hf": []})
            q["docs"].append(r["document"])
            q["hf"].append(r["score"])
    return queries


def cli_scores(queries):
    """`rankt5 score` on every (query, document) pair: the reference."""
    path = os.path.join(TMP, "pairs.jsonl")
    keys = []
    with open(path, "w") as f:
        for qid, q in sorted(queries.items()):
            for i, d in enumerate(q["docs"]):
                f.write(json.dumps({"query": q["query"], "document": d}) + "\n")
                keys.append((qid, i))
    out = subprocess.run([CLI, "score", "--model", MODEL, "--tokenizer", SPM, "--input", path, "--quiet"],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    assert len(out) == len(keys), "rankt5 score gave %d lines for %d pairs" % (len(out), len(keys))
    for (qid, i), line in zip(keys, out):
        queries[qid].setdefault("cli", {})[i] = json.loads(line)["score"]


def close(a, b, tol=1e-5):
    return abs(a - b) <= tol * max(1.0, abs(b))


def check_scores(srv, queries):
    worst_cli = worst_hf = 0.0
    for qid, q in sorted(queries.items()):
        n = len(q["docs"])
        # Cohere v2: sigmoid scores, sorted, documents on request
        st, h, body = srv.request("POST", "/v2/rerank", {"model": "rankt5", "query": q["query"],
                                                         "documents": q["docs"], "return_documents": True})
        check(st == 200, "cohere %s: status %s %s" % (qid, st, body))
        res = body["results"]
        check(len(res) == n and [r["relevance_score"] for r in res] ==
              sorted((r["relevance_score"] for r in res), reverse=True), "cohere %s: sorted, all" % qid)
        for r in res:
            want = sigmoid(q["cli"][r["index"]])
            check(close(r["relevance_score"], want), "cohere %s doc %d: %r vs %r" % (qid, r["index"],
                                                                                    r["relevance_score"], want))
            check(r["document"]["text"] == q["docs"][r["index"]], "cohere document text")
        check(body["meta"]["api_version"]["version"] == "2" and body["meta"]["billed_units"]["search_units"] == 1,
              "cohere meta")
        check(int(h["x-documents"]) == n and "x-inference-time" in h and "x-queue-time" in h, "cohere headers")
        # Jina: top_n, documents by default
        st, h, body = srv.request("POST", "/v1/rerank", {"model": "jina-reranker", "query": q["query"],
                                                         "documents": q["docs"], "top_n": 2})
        check(st == 200 and len(body["results"]) == min(2, n) and body["model"] == "jina-reranker" and
              body["usage"]["total_tokens"] == int(h["x-total-tokens"]) and
              "text" in body["results"][0]["document"], "jina %s shape: %s" % (qid, body))
        top = max(range(n), key=lambda i: q["cli"][i])
        check(body["results"][0]["index"] == top, "jina %s: best document first" % qid)
        # TEI: bare array of raw logits
        st, h, body = srv.request("POST", "/rerank", {"query": q["query"], "texts": q["docs"], "raw_scores": True})
        check(st == 200 and isinstance(body, list) and len(body) == n, "tei %s shape" % qid)
        for r in body:
            cli, hf = q["cli"][r["index"]], q["hf"][r["index"]]
            worst_cli = max(worst_cli, abs(r["score"] - cli) / max(1.0, abs(cli)))
            worst_hf = max(worst_hf, abs(r["score"] - hf) / max(1.0, abs(hf)))
    check(worst_cli <= 1e-5, "server vs rankt5 score: worst relative error %.2e" % worst_cli)
    check(worst_hf <= 1e-4, "server vs Hugging Face: worst relative error %.2e" % worst_hf)
    print("ok: %d queries on 3 endpoints; logits vs rankt5 score max rel err %.1e, vs HF %.1e" %
          (len(queries), worst_cli, worst_hf))


def check_concurrent(srv, queries):
    items = sorted(queries.items())
    errors = []

    def client(k):
        for rep in range(6):
            qid, q = items[(k + rep) % len(items)]
            st, _, body = srv.request("POST", "/rerank", {"query": q["query"], "texts": q["docs"],
                                                          "raw_scores": True})
            if st != 200 or len(body) != len(q["docs"]):
                errors.append((qid, st))
                continue
            for r in body:
                if not close(r["score"], q["cli"][r["index"]]):
                    errors.append((qid, r["index"], r["score"]))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "concurrent clients: %s" % errors[:5])
    print("ok: 8 concurrent clients x 6 requests, every answer its own")


def bad_requests():
    """(label, method, path, body bytes, headers, expected status, text expected in the body)."""
    ok_docs = {"model": "m", "query": "q", "documents": ["a"]}
    long_text = " ".join("word%d" % i for i in range(700))
    return [
        ("truncated JSON", "POST", "/v2/rerank", b'{"model":"m","query":"q","documents":["a",', None, 400,
         "malformed JSON"),
        ("empty body", "POST", "/v1/rerank", b"", None, 400, "empty"),
        ("not an object", "POST", "/rerank", b'["q", "a"]', None, 400, "JSON object"),
        ("query wrong type", "POST", "/v2/rerank", json.dumps({"model": "m", "query": 5, "documents": ["a"]}).encode(),
         None, 400, '\\"query\\"'),
        ("documents wrong type", "POST", "/v1/rerank", json.dumps({"query": "q", "documents": "a"}).encode(), None,
         400, '\\"documents\\"'),
        ("document wrong type", "POST", "/rerank", json.dumps({"query": "q", "texts": ["a", None]}).encode(), None,
         400, "texts[1]"),
        ("top_n wrong type", "POST", "/v2/rerank", json.dumps(dict(ok_docs, top_n="3")).encode(), None, 400,
         "top_n"),
        ("top_n negative", "POST", "/v1/rerank", json.dumps({"query": "q", "documents": ["a"], "top_n": -1}).encode(),
         None, 400, "top_n"),
        ("huge integer", "POST", "/v2/rerank", b'{"model":"m","query":"q","documents":["a"],"top_n":1' + b"0" * 40 + b"}",
         None, 400, "malformed JSON"),
        ("huge real", "POST", "/rerank", b'{"query":"q","texts":["a"],"x":1e99999}', None, 400, "malformed JSON"),
        ("deep nesting", "POST", "/rerank", b"[" * 20000 + b"]" * 20000, None, 400, "malformed JSON"),
        ("invalid UTF-8", "POST", "/v1/rerank", b'{"query":"\xc3\x28","documents":["\xff\xfe"]}', None, 400,
         "malformed JSON"),
        ("NUL in a string", "POST", "/v1/rerank", b'{"query":"a\\u0000b","documents":["x"]}', None, 400,
         "malformed JSON"),
        ("10,000 empty documents", "POST", "/v2/rerank",
         json.dumps({"model": "m", "query": "q", "documents": [""] * 10000}).encode(), None, 413, "at most 50"),
        ("payload over the limit", "POST", "/rerank",
         json.dumps({"query": "q", "texts": ["x" * 70000]}).encode(), None, 413, "limit"),
        ("payload 80x the limit", "POST", "/v1/rerank",
         json.dumps({"query": "q", "documents": ["y" * 5000000]}).encode(), None, 413, "limit"),
        ("missing query", "POST", "/v2/rerank", json.dumps({"model": "m", "documents": ["a"]}).encode(), None, 400,
         '\\"query\\"'),
        ("missing model (Cohere)", "POST", "/v2/rerank", json.dumps({"query": "q", "documents": ["a"]}).encode(),
         None, 400, '\\"model\\"'),
        ("missing texts (TEI)", "POST", "/rerank", json.dumps({"query": "q"}).encode(), None, 400, '\\"texts\\"'),
        ("empty documents", "POST", "/v1/rerank", json.dumps({"query": "q", "documents": []}).encode(), None, 400,
         "empty"),
        ("too long, truncation off", "POST", "/rerank",
         json.dumps({"query": "q", "texts": ["fine", long_text], "truncate": False}).encode(), None, 422, "texts[1]"),
        ("bad truncation_direction", "POST", "/rerank",
         json.dumps({"query": "q", "texts": ["a"], "truncation_direction": "Up"}).encode(), None, 400,
         "truncation_direction"),
        ("unknown route", "POST", "/v3/rerank", json.dumps(ok_docs).encode(), None, 404, "no such endpoint"),
        ("wrong method", "GET", "/v2/rerank", None, None, 405, "POST"),
        ("wrong method on health", "POST", "/health", b"{}", None, 405, "GET"),
    ]


def check_bad_requests(srv):
    for label, method, path, body, headers, status, needle in bad_requests():
        st, h, payload = srv.request(method, path, body, headers, raw=True)
        text = payload.decode("utf-8", "replace")
        check(st == status, "%s: status %d, want %d (%s)" % (label, st, status, text[:200]))
        check(needle in text, "%s: body %r lacks %r" % (label, text[:200], needle))
        try:
            shape = json.loads(text)
            if path == "/v2/rerank":
                check("message" in shape and "id" in shape, "%s: Cohere error shape" % label)
            elif path == "/v1/rerank":
                check("detail" in shape and "error" in shape, "%s: Jina error shape" % label)
            else:
                check("error" in shape and "error_type" in shape, "%s: TEI error shape" % label)
        except ValueError:
            check(False, "%s: error body is not JSON: %r" % (label, text[:200]))
        hs, _, _ = srv.request("GET", "/health")
        check(hs == 200, "%s: server unhealthy afterwards" % label)
    print("ok: %d bad requests answered with the right 4xx, server healthy after each" % len(bad_requests()))


def check_truncation(srv):
    long_doc = " ".join("word%d" % i for i in range(700))
    st, h, body = srv.request("POST", "/v2/rerank", {"model": "m", "query": "q", "documents": [long_doc, "short"]})
    check(st == 200 and h["x-truncated-documents"] == "1" and int(h["x-truncated-tokens"]) > 0 and
          body["meta"]["truncation"]["documents"] == 1 and body["meta"]["warnings"], "truncation reported: %s" % h)
    st, h, body = srv.request("POST", "/v1/rerank", {"query": "q", "documents": [long_doc]})
    check(st == 200 and body["truncation"]["documents"] == 1, "Jina truncation reported")
    st, h, body = srv.request("POST", "/rerank", {"query": "q", "texts": [long_doc], "truncation_direction": "Left"})
    check(st == 200 and h["x-truncated-documents"] == "1", "TEI left truncation reported")
    print("ok: truncation reported in meta and headers")


def check_info_metrics(srv):
    st, _, info = srv.request("GET", "/info")
    check(st == 200 and info["model"] == "demo-model" and info["limits"]["max_docs_per_request"] == 50 and
          info["config"]["vocab_size"] == 32128 and info["dtype"] == "f32", "info: %s" % info)
    st, h, text = srv.request("GET", "/metrics", raw=True)
    text = text.decode()
    check(st == 200 and h["content-type"].startswith("text/plain"), "metrics content type")
    for needle in ['rankt5_http_requests_total{endpoint="/v2/rerank",status="200"}',
                   'rankt5_http_requests_total{endpoint="/rerank",status="413"} 1',
                   'rankt5_http_requests_total{endpoint="/v2/rerank",status="400"}',
                   "rankt5_queue_requests 0", "rankt5_batch_pairs_bucket", "rankt5_tokens_total",
                   "rankt5_queue_duration_seconds_sum", "rankt5_tokenize_duration_seconds_count",
                   "rankt5_inference_duration_seconds_bucket"]:
        check(needle in text, "metrics lack %s" % needle)
    print("ok: /info and /metrics")


def check_converted(queries):
    """A file from `rankt5 convert --dtype int8` serves the scores of `rankt5 score --dtype int8` on
    the original checkpoint, and /info reports it as converted int8."""
    conv = os.path.join(TMP, "demo-int8.safetensors")
    subprocess.run([CLI, "convert", "--model", MODEL, "--dtype", "int8", "-o", conv], check=True,
                   capture_output=True)
    qid, q = sorted(queries.items())[0]
    path = os.path.join(TMP, "one.jsonl")
    with open(path, "w") as f:
        for d in q["docs"]:
            f.write(json.dumps({"query": q["query"], "document": d}) + "\n")
    out = subprocess.run([CLI, "score", "--model", MODEL, "--dtype", "int8", "--tokenizer", SPM, "--input", path,
                          "--quiet"], check=True, capture_output=True, text=True).stdout.splitlines()
    want = [json.loads(line)["score"] for line in out]
    srv = Server(model=conv)
    try:
        st, _, info = srv.request("GET", "/info")
        check(st == 200 and info["dtype"] == "int8" and info["config"]["converted"] is True and
              info["config"]["compute_dtype"] == "int8", "converted /info: %s" % info)
        st, _, body = srv.request("POST", "/rerank", {"query": q["query"], "texts": q["docs"], "raw_scores": True})
        check(st == 200 and len(body) == len(want), "converted /rerank: %s %s" % (st, body))
        for r in body:
            check(close(r["score"], want[r["index"]], 1e-6), "converted doc %d: %r vs rankt5 score --dtype int8 %r" %
                  (r["index"], r["score"], want[r["index"]]))
    finally:
        srv.stop()
    print("ok: a converted int8 file serves the scores of --dtype int8 (%d documents)" % len(want))


def check_auth():
    keyfile = os.path.join(TMP, "key")
    with open(keyfile, "w") as f:
        f.write("s3cret-key\n")
    srv = Server("--api-key-file", keyfile)
    try:
        body = {"model": "m", "query": "q", "documents": ["a"]}
        st, _, b = srv.request("POST", "/v2/rerank", body)
        check(st == 401 and "message" in b, "no key: 401")
        st, _, _ = srv.request("POST", "/rerank", {"query": "q", "texts": ["a"]}, {"Authorization": "Bearer nope"})
        check(st == 401, "wrong key: 401")
        st, _, _ = srv.request("POST", "/v2/rerank", body, {"Authorization": "Bearer s3cret-key"})
        check(st == 200, "right key: 200")
        st, _, _ = srv.request("GET", "/health")
        check(st == 200, "health needs no key")
    finally:
        rc, err = srv.stop()
        check(rc == 0, "auth server exit %d" % rc)
    print("ok: API key")


def check_sigterm(srv):
    results = []

    def one():
        try:
            st, _, _ = srv.request("POST", "/v1/rerank", {"query": "q", "documents": ["x %d" % i for i in range(40)]})
            results.append(st)
        except OSError as e:  # refused: sent after the listener closed
            results.append(str(e))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    rc, err = srv.stop()
    for t in threads:
        t.join()
    check(rc == 0, "SIGTERM exit status %d: %s" % (rc, err))
    check("stopped cleanly" in err, "SIGTERM: %s" % err)
    check(all(r == 200 or r == 503 or isinstance(r, str) for r in results), "drain answers: %s" % results)
    print("ok: SIGTERM drains and exits 0 (%s)" % results)


def check_cli_errors(busy_port):
    def run(*args):
        p = subprocess.run([CLI, "serve", *args], capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout + p.stderr

    rc, out = run("--help")
    check(rc == 0 and "/v2/rerank" in out and "--max-queue" in out, "serve --help")
    rc, out = run("--model", MODEL)
    check(rc == 2 and "--tokenizer" in out, "missing --tokenizer is a usage error: %d %s" % (rc, out))
    rc, out = run("--model", MODEL, "--tokenizer", SPM, "--max-queue", "zero")
    check(rc == 2 and "--max-queue" in out, "bad number is a usage error: %d %s" % (rc, out))
    rc, out = run("--model", MODEL, "--tokenizer", SPM, "--bogus", "1")
    check(rc == 2 and "--bogus" in out, "unknown option: %d %s" % (rc, out))
    rc, out = run("--model", MODEL, "--tokenizer", SPM, "--api-key", "a", "--api-key-file", "/nonexistent")
    check(rc == 2, "both key options: %d %s" % (rc, out))
    rc, out = run("--model", MODEL, "--tokenizer", SPM, "--api-key-file", os.path.join(TMP, "missing"))
    check(rc == 1 and "missing" in out, "unreadable key file: %d %s" % (rc, out))
    rc, out = run("--model", os.path.join(TMP, "no-such-model.bin"), "--tokenizer", SPM)
    check(rc == 1 and "no-such-model.bin" in out, "missing model: %d %s" % (rc, out))
    rc, out = run("--model", MODEL, "--tokenizer", SPM, "--port", str(busy_port))
    check(rc == 1 and "cannot listen" in out, "port in use: %d %s" % (rc, out))
    rc, out = run("--model", MODEL, "--tokenizer", SPM, "--host", "not-an-address", "--port", "0")
    check(rc == 1 and "not-an-address" in out, "bad host: %d %s" % (rc, out))
    print("ok: serve's usage and start-up errors")


def main():
    if not os.path.exists(MODEL):
        print("FAIL: demo model missing: %s" % MODEL, file=sys.stderr)
        return 1
    queries = demo_queries()
    cli_scores(queries)
    srv = Server("--max-docs-per-request", "50", "--max-payload", "65536", "--model-name", "demo-model")
    try:
        check_scores(srv, queries)
        check_concurrent(srv, queries)
        check_bad_requests(srv)
        check_truncation(srv)
        check_info_metrics(srv)
        check_cli_errors(srv.port)
    finally:
        if srv.proc.poll() is None:
            check_sigterm(srv)
    check_auth()
    check_converted(queries)
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("all server checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
