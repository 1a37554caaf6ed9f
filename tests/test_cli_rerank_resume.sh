#!/usr/bin/env bash
# test_cli_rerank_resume.sh -- rankt5 rerank --resume: a run killed after N
# queries (SIGKILL in the middle of writing the next query, through the
# RANKT5_TEST_KILL_AFTER_QUERIES hook) and restarted with the same
# arguments gives exactly the bytes of an uninterrupted run, for several N
# and query-group sizes; a resume of a finished run does nothing; a partial
# file from other arguments is refused; a real kill -9 at a random moment
# also resumes to the same bytes, and so does a run cancelled by SIGINT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# A longer run than the demo's: the demo queries repeated under new ids.
python3 - "$D" "$T" <<'EOF'
import sys
d, t = sys.argv[1:]
queries = [l.rstrip("\n").split("\t", 1) for l in open(f"{d}/queries.tsv")]
run = [l.split() for l in open(f"{d}/run.bm25.trec")]
with open(f"{t}/queries.tsv", "w") as q, open(f"{t}/run.trec", "w") as r:
    for copy in range(4):
        for qid, text in queries:
            q.write(f"{qid}-{copy}\t{text}\n")
        for f in run:
            r.write(f"{f[0]}-{copy} Q0 {f[2]} {f[3]} {f[4]} bm25\n")
EOF

rerank() {
  "$CLI" rerank --model "$D/model" --tokenizer "$SPM" --run "$T/run.trec" --queries "$T/queries.tsv" \
    --collection "$D/collection.tsv" --top 5 "$@"
}

rerank -o "$T/full.trec" --quiet
[ "$(wc -l < "$T/full.trec")" -eq 100 ] || fail "the uninterrupted run should have 20 queries x 5 lines"

for group in 1 12; do
  for n in 0 1 3 7; do
    out=$T/killed_${group}_$n.trec
    set +e
    RANKT5_TEST_KILL_AFTER_QUERIES=$n rerank --group-pairs "$group" -o "$out" 2>/dev/null
    rc=$?
    set -e
    [ "$rc" -ne 0 ] || fail "the kill hook did not stop the run (group $group, n $n)"
    [ ! -e "$out" ] || fail "$out exists after a killed run"
    [ -e "$out.partial" ] || fail "no $out.partial after a killed run"
    lines=$(wc -l < "$out.partial")
    [ "$lines" -ge $((n * 5)) ] || fail "the partial file lost finished queries ($lines lines, n $n)"
    rerank --group-pairs "$group" -o "$out" --resume 2> "$T/resume.err"
    cmp "$T/full.trec" "$out" || fail "resumed output differs (group $group, killed after $n)"
    [ ! -e "$out.partial" ] || fail "$out.partial left after a finished run"
    if [ "$n" -gt 0 ]; then
      grep -q "resuming after $n complete quer" "$T/resume.err" ||
        { cat "$T/resume.err" >&2; fail "resume did not report $n complete queries"; }
    fi
  done
done
echo "ok: killed after 0/1/3/7 queries (groups of 1 and 12 pairs), resumed byte-identical"

# Killed twice in a row, then resumed.
out=$T/twice.trec
RANKT5_TEST_KILL_AFTER_QUERIES=2 rerank -o "$out" 2>/dev/null && fail "hook did not fire" || true
RANKT5_TEST_KILL_AFTER_QUERIES=3 rerank -o "$out" --resume 2>/dev/null && fail "hook did not fire" || true
rerank -o "$out" --resume 2>/dev/null
cmp "$T/full.trec" "$out" || fail "output differs after two kills"
echo "ok: killed twice, resumed byte-identical"

# Resuming a finished run does nothing.
before=$(stat -c %Y.%s "$out")
rerank -o "$out" --resume 2> "$T/err"
grep -q "nothing to resume" "$T/err" || fail "resume of a finished run did not say so"
[ "$(stat -c %Y.%s "$out")" = "$before" ] || fail "resume of a finished run touched it"

# A partial file from other arguments is refused, and left alone.
printf 'zzz Q0 p01 1 1.0 rankt5\n' > "$T/other.trec.partial"
if rerank -o "$T/other.trec" --resume 2> "$T/err"; then fail "foreign partial file accepted"; fi
grep -q "does not continue this run" "$T/err" || { cat "$T/err" >&2; fail "unclear error for a foreign partial"; }
[ "$(cat "$T/other.trec.partial")" = "zzz Q0 p01 1 1.0 rankt5" ] || fail "foreign partial file was modified"
echo "ok: finished run left alone, foreign partial refused"

# A real kill -9 at some moment of a slower run (one pair per batch); the
# moment varies, so this may land before, during or after the writing.
out=$T/sigkill.trec
"$CLI" rerank --model "$D/model" --tokenizer "$SPM" --run "$T/run.trec" --queries "$T/queries.tsv" \
  --collection "$D/collection.tsv" --top 5 -o "$out" --batch-tokens 1 --group-pairs 1 --threads 1 \
  --quiet &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
rerank -o "$out" --resume 2>/dev/null
cmp "$T/full.trec" "$out" || fail "output differs after a real kill -9"
echo "ok: real kill -9 then --resume byte-identical"

# Ctrl-C (SIGINT) cancels between batches: exit 130, a note on how to
# resume, and OUT.partial holds only finished queries. A longer run (400
# queries, one pair per batch) is interrupted once its first query is out.
python3 - "$T" <<'EOF'
import sys
t = sys.argv[1]
q = [l for l in open(f"{t}/queries.tsv")]
r = [l for l in open(f"{t}/run.trec")]
with open(f"{t}/queries_big.tsv", "w") as qo, open(f"{t}/run_big.trec", "w") as ro:
    for copy in range(20):
        qo.writelines(l.replace("\t", f"x{copy}\t", 1) for l in q)
        ro.writelines(l.replace(" Q0 ", f"x{copy} Q0 ", 1) for l in r)
EOF
big() {
  "$CLI" rerank --model "$D/model" --tokenizer "$SPM" --run "$T/run_big.trec" --queries "$T/queries_big.tsv" \
    --collection "$D/collection.tsv" --top 5 --quiet "$@"
}
big -o "$T/big_full.trec"
out=$T/sigint.trec
"$CLI" rerank --model "$D/model" --tokenizer "$SPM" --run "$T/run_big.trec" --queries "$T/queries_big.tsv" \
  --collection "$D/collection.tsv" --top 5 --quiet -o "$out" --batch-tokens 1 --group-pairs 1 \
  --threads 1 2> "$T/sigint.err" &
pid=$!  # the rankt5 process itself, not a subshell
for _ in $(seq 100); do [ -s "$out.partial" ] && break; sleep 0.05; done
kill -INT "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
if [ "$rc" -eq 130 ]; then
  grep -q "interrupted; .*sigint.trec.partial holds every finished query" "$T/sigint.err" ||
    { cat "$T/sigint.err" >&2; fail "no resume note after SIGINT"; }
  [ ! -e "$out" ] || fail "$out exists after an interrupted run"
  big -o "$out" --resume 2>/dev/null
  echo "ok: SIGINT cancelled the run (exit 130); --resume completed it"
else
  [ "$rc" -eq 0 ] || { cat "$T/sigint.err" >&2; fail "SIGINT run exited $rc"; }
  echo "ok: the run finished before SIGINT landed"
fi
cmp "$T/big_full.trec" "$out" || fail "output differs after SIGINT and --resume"

# Two runs on one output: the second fails fast, the first is unharmed.
out=$T/twin.trec
RANKT5_TEST_KILL_AFTER_QUERIES=2 rerank -o "$out" 2>/dev/null && fail "hook did not fire" || true
exec 9>>"$out.partial"
flock -n 9 || fail "cannot lock for the concurrency check"
if rerank -o "$out" --resume 2> "$T/err"; then fail "a second writer was let in"; fi
grep -q "is being written by another rankt5 rerank" "$T/err" || { cat "$T/err" >&2; fail "concurrent writer error"; }
exec 9>&-
rerank -o "$out" --resume 2>/dev/null
cmp "$T/full.trec" "$out" || fail "output differs after a refused concurrent writer"
echo "ok: a concurrent writer on the same output is refused"
