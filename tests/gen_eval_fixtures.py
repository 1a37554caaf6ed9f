#!/usr/bin/env python3
"""gen_eval_fixtures.py -- expected `rankt5 eval` values from trec_eval itself.

Builds synthetic TREC runs against the REAL TREC DL 2019 passage qrels
($RT5_SHARED_DIR/data/trec/qrels.dl19-passage.txt) that hit the cases where an
evaluator can quietly differ from trec_eval, scores them with pytrec_eval
(trec_eval's own C code behind a Python API), and writes under
tests/fixtures/eval_trec/:

  runs/<name>.trec.gz   the runs (deterministic: seeded RNG)
  expected.tsv.gz       run, rel_level, qid, metric, value (repr of the double)
  MANIFEST.txt          versions, the qrels' sha256 and how each number was made

The runs and what they exercise:
  ties     every judged document of all 43 queries plus unjudged ones, scores
           from a handful of values (big ties, across the cutoff at 10 too),
           the rank column shuffled and the file order shuffled: trec_eval
           ranks by score then docid (descending strcmp), never by rank.
  float    scores that differ as doubles but are equal as floats (trec_eval
           9.x keeps scores as float), written as 7.0000001, 1e1, +2.5, -3.
  partial  8 judged queries left out, 4 queries the qrels lack, half the
           documents unjudged, grade-1 documents above grade-2/3 ones (the
           rel_level 1 vs 2 boundary).
  long     6 queries with 1300 documents, relevant ones placed just before
           and after rank 1000 (recall@1000, map past 1000), others short.

Metrics, at --rel-level 1 and 2 each (pytrec_eval's relevance_level = -l):
  ndcg_cut.5,10,100,1000  recip_rank  map  map_cut.10,100,1000
  recall.10,100,1000  P.10,100
mrr@10 is trec_eval's `-M 10 -m recip_rank`; pytrec_eval has no -M, so its
value is taken from the full recip_rank: 1/r counts only when r <= 10, i.e.
when recip_rank >= 0.1, else 0 (same ranking, same first relevant document).
The qid "all" rows are trec_eval -c means (sum over the queries evaluated /
number of qrels queries, meas_avg.c), "all_run" rows the plain means (sum /
queries in both). Per-query rows come straight from pytrec_eval.

Run: python3 -m venv /tmp/pte && /tmp/pte/bin/pip install pytrec_eval-terrier==0.5.11
     RT5_SHARED_DIR=../shared /tmp/pte/bin/python tests/gen_eval_fixtures.py
"""
import gzip
import hashlib
import importlib.metadata
import math
import os
import platform
import random
import struct
import sys

import pytrec_eval

PYTREC_EVAL_PACKAGE = "pytrec_eval-terrier"
PYTREC_EVAL_PINNED = "0.5.11"
# pytrec_eval-terrier 0.5.11 builds trec_eval from its git submodule at
# usnistgov/trec_eval de6a29f ("v9.0.5-4-gde6a29f"), whose trec_format.h keeps
# scores as float. Read from terrierteam/pytrec_eval's source, not detectable
# from the installed wheel.
BUNDLED_TREC_EVAL = "9.0.5-4-gde6a29f (usnistgov/trec_eval, the submodule of pytrec_eval-terrier 0.5.11)"

MEASURES = {"ndcg_cut.5,10,100,1000", "recip_rank", "map", "map_cut.10,100,1000",
            "recall.10,100,1000", "P.10,100"}
# pytrec_eval's key -> rankt5 eval's metric name
NAMES = {"ndcg_cut_5": "ndcg@5", "ndcg_cut_10": "ndcg@10", "ndcg_cut_100": "ndcg@100",
         "ndcg_cut_1000": "ndcg@1000", "recip_rank": "mrr", "map": "map",
         "map_cut_10": "map@10", "map_cut_100": "map@100", "map_cut_1000": "map@1000",
         "recall_10": "recall@10", "recall_100": "recall@100", "recall_1000": "recall@1000",
         "P_10": "p@10", "P_100": "p@100"}


def as_float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def read_qrels(path):
    qrels = {}
    with open(path) as f:
        for line in f:
            qid, _, docid, grade = line.split()
            qrels.setdefault(qid, {})[docid] = int(grade)
    return qrels


def unjudged_ids(rng, judged, n):
    """Docids of mixed lengths (strcmp order != numeric order) not in judged."""
    out = []
    while len(out) < n:
        d = str(rng.choice([rng.randrange(10, 1000), rng.randrange(10**5, 10**7),
                            rng.randrange(10**7, 9 * 10**6 * 10)]))
        if d not in judged and d not in out:
            out.append(d)
    return out


def lines_for(qid, scored, rng, shuffle_ranks):
    """TREC lines for [(docid, score_text)]; rank = position or shuffled."""
    ranks = list(range(1, len(scored) + 1))
    if shuffle_ranks:
        rng.shuffle(ranks)
    return [f"{qid} Q0 {d} {r} {s} gen" for (d, s), r in zip(scored, ranks)]


def run_ties(rng, qrels):
    lines = []
    for qid in sorted(qrels):
        docs = list(qrels[qid]) + unjudged_ids(rng, qrels[qid], 15)
        levels = [0.5, 1, 1.5, 2, 2.5, 3, 4]
        scored = []
        for d in docs:
            # About 1 in 12 documents share the top score: a tie group of ~20
            # straddling rank 10 in most queries.
            s = 9.25 if rng.random() < 1 / 12 else rng.choice(levels)
            scored.append((d, repr(float(s))))
        lines += lines_for(qid, scored, rng, shuffle_ranks=True)
    rng.shuffle(lines)
    return lines


def float_twins(rng, base):
    """Distinct decimal texts of one float32 value (distinct as doubles)."""
    f = as_float32(base)
    ulp = math.ulp(f) * 2**29  # float32 spacing near f (52 - 23 bits)
    texts = []
    for frac in (0.0, 0.1, -0.2, 0.3):
        x = f + frac * ulp
        assert as_float32(x) == f
        texts.append(repr(x))
    return texts


def run_float(rng, qrels):
    lines = []
    for qid in sorted(qrels):
        judged = list(qrels[qid])
        rng.shuffle(judged)
        docs = judged[:30] + unjudged_ids(rng, qrels[qid], 10)
        scored = []
        bases = [7.0000001, 12.5, -3.0, 0.1, 1e-3]
        for i, d in enumerate(docs):
            b = bases[i % len(bases)]
            twins = float_twins(rng, b)
            scored.append((d, twins[rng.randrange(len(twins))]))
        # Equal numbers in other spellings.
        scored[0] = (scored[0][0], "1e1")
        scored[1] = (scored[1][0], "10.0")
        scored[2] = (scored[2][0], "+2.5")
        scored[3] = (scored[3][0], "2.50")
        lines += lines_for(qid, scored, rng, shuffle_ranks=False)
    return lines


def run_partial(rng, qrels):
    qids = sorted(qrels)
    dropped = set(rng.sample(qids, 8))
    lines = []
    for qid in qids:
        if qid in dropped:
            continue
        by_grade = {g: [d for d, x in qrels[qid].items() if x == g] for g in range(4)}
        for g in by_grade:
            rng.shuffle(by_grade[g])
        # grade 1 first, then a mix: rel_level 2 sees the first relevant late.
        docs = by_grade[1][:8] + by_grade[0][:10] + by_grade[2][:10] + by_grade[3][:5]
        docs += unjudged_ids(rng, qrels[qid], len(docs))
        tail = docs[18:]
        rng.shuffle(tail)
        docs = docs[:18] + tail
        scored = [(d, f"{20.0 - 0.137 * i:.4f}") for i, d in enumerate(docs)]
        lines += lines_for(qid, scored, rng, shuffle_ranks=False)
    for extra in ("1", "42", "999999999", "dev-extra"):
        assert extra not in qrels
        scored = [(d, f"{5.0 - i:.1f}") for i, d in enumerate(unjudged_ids(rng, {}, 5))]
        lines += lines_for(extra, scored, rng, shuffle_ranks=False)
    return lines


def run_long(rng, qrels):
    qids = sorted(qrels)
    deep = set(rng.sample(qids, 6))
    lines = []
    for qid in qids:
        rel = [d for d, g in qrels[qid].items() if g >= 1]
        non = [d for d, g in qrels[qid].items() if g == 0]
        rng.shuffle(rel)
        if qid in deep:
            n = 1300
            docs = unjudged_ids(rng, qrels[qid], n - len(non) - min(len(rel), 60)) + non
            rng.shuffle(docs)
            # relevant documents around rank 1000 and beyond it
            slots = sorted(rng.sample(range(985, n), min(len(rel), 60)))
            for slot, d in zip(slots, rel):
                docs.insert(slot, d)
            docs = docs[:n]
        else:
            docs = rel[:5] + non[:10]
            rng.shuffle(docs)
        scored = [(d, f"{100.0 - i * 0.01:.2f}") for i, d in enumerate(docs)]
        lines += lines_for(qid, scored, rng, shuffle_ranks=False)
    return lines


def parse_run(lines):
    run = {}
    for line in lines:
        qid, _, docid, _, score, _ = line.split()
        assert docid not in run.get(qid, {}), "a generated run repeats a document"
        run.setdefault(qid, {})[docid] = float(score)
    return run


def coverage(run):
    """What the run exercises, for MANIFEST.txt (a check on the generator,
    not an expected value): queries whose 10th and 11th documents tie, pairs
    equal as float but not as double, queries longer than 1000."""
    tie_at_10 = float_only = longer = 0
    for docs in run.values():
        ranked = sorted(docs.items(), key=lambda kv: (-as_float32(kv[1]), tuple(-b for b in kv[0].encode())))
        if len(ranked) > 10 and as_float32(ranked[9][1]) == as_float32(ranked[10][1]):
            tie_at_10 += 1
        for a, b in zip(ranked, ranked[1:]):
            float_only += as_float32(a[1]) == as_float32(b[1]) and a[1] != b[1]
        longer += len(ranked) > 1000
    return (f"{tie_at_10} queries with a score tie across rank 10/11, {float_only} neighbours equal as "
            f"float but not as double, {longer} queries longer than 1000")


def evaluate(qrels, run, level):
    ev = pytrec_eval.RelevanceEvaluator(qrels, MEASURES, relevance_level=level)
    per_query = ev.evaluate(run)
    rows = []
    for qid in sorted(per_query):
        values = {NAMES[k]: v for k, v in per_query[qid].items()}
        rr = values["mrr"]
        values["mrr@10"] = rr if rr >= 0.1 else 0.0
        for name in sorted(values):
            rows.append((qid, name, values[name]))
    names = sorted({name for _, name, _ in rows})
    for name in names:
        vals = [v for _, n, v in rows if n == name]
        rows.append(("all", name, math.fsum(vals) / len(qrels)))
        rows.append(("all_run", name, math.fsum(vals) / len(vals)))
    return rows


def main():
    shared = os.environ.get("RT5_SHARED_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "shared")
    qrels_path = os.path.join(shared, "data", "trec", "qrels.dl19-passage.txt")
    version = importlib.metadata.version(PYTREC_EVAL_PACKAGE)
    if version != PYTREC_EVAL_PINNED:
        sys.exit(f"gen_eval_fixtures: want {PYTREC_EVAL_PACKAGE}=={PYTREC_EVAL_PINNED}, found {version}")
    qrels = read_qrels(qrels_path)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "eval_trec")
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    rng = random.Random(20190601)
    builders = [("ties", run_ties), ("float", run_float), ("partial", run_partial), ("long", run_long)]
    expected = []
    manifest = []
    for name, build in builders:
        lines = build(rng, qrels)
        text = ("\n".join(lines) + "\n").encode()
        path = os.path.join(out, "runs", name + ".trec.gz")
        with open(path, "wb") as f:  # mtime 0: the same bytes on every run
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
                g.write(text)
        run = parse_run(lines)
        manifest.append(f"run {name}: {len(lines)} lines, {len(run)} queries, "
                        f"sha256 of the uncompressed run {hashlib.sha256(text).hexdigest()}; "
                        + coverage(run))
        for level in (1, 2):
            for qid, metric, value in evaluate(qrels, run, level):
                expected.append(f"{name}\t{level}\t{qid}\t{metric}\t{value!r}")
    qrels_sha = hashlib.sha256(open(qrels_path, "rb").read()).hexdigest()
    header = [
        "# expected rankt5 eval values, made by tests/gen_eval_fixtures.py",
        f"# {PYTREC_EVAL_PACKAGE} {version} (pytrec_eval); trec_eval {BUNDLED_TREC_EVAL}",
        f"# python {platform.python_version()}, {platform.platform()}",
        f"# qrels data/trec/qrels.dl19-passage.txt sha256 {qrels_sha}",
    ]
    with open(os.path.join(out, "expected.tsv.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write(("\n".join(header + ["run\trel_level\tqid\tmetric\tvalue"] + expected) + "\n").encode())
    with open(os.path.join(out, "MANIFEST.txt"), "w") as f:
        f.write("\n".join(header[1:] + [f"qrels_sha256 {qrels_sha}"] + manifest +
                          [f"{len(expected)} expected values"]) + "\n")
    print(f"gen_eval_fixtures: {len(expected)} values from {PYTREC_EVAL_PACKAGE} {version} into {out}")


if __name__ == "__main__":
    main()
