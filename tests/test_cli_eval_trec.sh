#!/usr/bin/env bash
# test_cli_eval_trec.sh -- rankt5 eval against trec_eval itself: every
# per-query value and both means (trec_eval -c and without -c) of 4 synthetic
# runs x 15 metrics x --rel-level 1 and 2 on the REAL TREC DL 2019 passage
# qrels equal pytrec_eval's to 1e-12. The runs hit score ties (across rank 10
# too), scores equal only as float, queries missing from the run, queries the
# qrels lack, unjudged documents, grade 1 vs 2, and runs past 1000
# (tests/gen_eval_fixtures.py made them and the expected values; its
# MANIFEST.txt records the versions). Needs only python3's standard library.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

F=$SRC/tests/fixtures/eval_trec
QRELS=$SHARED/data/trec/qrels.dl19-passage.txt
[ -f "$QRELS" ] || fail "the DL19 qrels are missing: $QRELS (set RT5_SHARED_DIR)"
want_sha=$(sed -n 's/^qrels_sha256 //p' "$F/MANIFEST.txt")
have_sha=$(sha256sum "$QRELS" | cut -d' ' -f1)
[ "$want_sha" = "$have_sha" ] || fail "$QRELS is not the file the fixtures were made from (sha256 $have_sha)"

METRICS=ndcg@5,ndcg@10,ndcg@100,ndcg@1000,mrr,mrr@10,map,map@10,map@100,map@1000,recall@10,recall@100,recall@1000,p@10,p@100
for run in ties float partial long; do
  zcat "$F/runs/$run.trec.gz" > "$T/$run.trec"
  grep -q "sha256 of the uncompressed run $(sha256sum < "$T/$run.trec" | cut -d' ' -f1)" "$F/MANIFEST.txt" ||
    fail "runs/$run.trec.gz does not match MANIFEST.txt"
  for level in 1 2; do
    "$CLI" eval --run "$T/$run.trec" --qrels "$QRELS" --metrics "$METRICS" --rel-level "$level" \
      --per-query --digits 17 > "$T/$run.$level.c"
    "$CLI" eval --run "$T/$run.trec" --qrels "$QRELS" --metrics "$METRICS" --rel-level "$level" \
      --run-queries-only --digits 17 > "$T/$run.$level.run"
  done
done

python3 - "$F/expected.tsv.gz" "$T" "$QRELS" <<'PY'
import gzip, sys
expected_path, tmp, qrels_path = sys.argv[1:]
judged = {line.split()[0] for line in open(qrels_path)}
want = {}
versions = ""
for line in gzip.open(expected_path, "rt"):
    if line.startswith("# pytrec_eval"):
        versions = line[2:].strip()
    if line.startswith("#") or line.startswith("run\t"):
        continue
    run, level, qid, metric, value = line.rstrip("\n").split("\t")
    want[(run, level, qid, metric)] = float(value)

def summary(path):
    """Metric lines 'name value trec_eval flags' -> {name: value}."""
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 3 and f[2] == "trec_eval":
            out[f[0]] = float(f[1])
    return out

bad, checked, runs = [], 0, set()
for (run, level, qid, metric), value in want.items():
    runs.add((run, level))
for run, level in sorted(runs):
    have = {}
    missing_rows = 0
    for line in open(f"{tmp}/{run}.{level}.c"):
        f = line.rstrip("\n").split("\t")
        if len(f) > 1 and "=" in f[1]:
            vals = dict(kv.split("=") for kv in f[1:])
            if (run, level, f[0], "map") in want:
                for m, v in vals.items():
                    have[(run, level, f[0], m)] = float(v)
            else:  # -c: a judged query the run lacks counts 0 everywhere
                if f[0] not in judged or any(float(v) != 0.0 for v in vals.values()):
                    bad.append(f"{run} -l {level}: query {f[0]} printed {vals}")
                missing_rows += 1
    for scope, path in (("all", f"{tmp}/{run}.{level}.c"), ("all_run", f"{tmp}/{run}.{level}.run")):
        for m, v in summary(path).items():
            have[(run, level, scope, m)] = v
    for key, value in want.items():
        if key[:2] != (run, level):
            continue
        got = have.get(key)
        checked += 1
        if got is None or abs(got - value) > 1e-12:
            bad.append(f"{' '.join(key)}: rankt5 {got!r}, pytrec_eval {value!r}")
    extra = {k for k in have if k[:2] == (run, level)} - set(want)
    if extra:
        bad.append(f"{run} -l {level}: rankt5 printed values pytrec_eval has not: {sorted(extra)[:5]}")
    n_eval = len({k[2] for k in want if k[:2] == (run, level) and k[2] not in ("all", "all_run")})
    if n_eval + missing_rows != len(judged):
        bad.append(f"{run} -l {level}: {n_eval} + {missing_rows} queries printed, qrels have {len(judged)}")
if bad:
    print("\n".join(bad[:40]), file=sys.stderr)
    sys.exit(f"FAIL: {len(bad)} differences from pytrec_eval")
print(f"ok: {checked} values ({len(runs)} run x rel-level pairs, per query and both means) "
      f"equal to {versions} to 1e-12")
PY
