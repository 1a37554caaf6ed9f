#!/usr/bin/env bash
# eval/bench/bench_java_rerank.sh -- the Java stage (io.rankt5.anserini.RerankRun,
# through JNI) against `rankt5 rerank` on the same run, passages, model, dtype,
# threads and pairs per engine call, side by side, alternating, --repeat times;
# then where the time goes in BM25 -> RankT5 (SearchRerank's time split on a
# BM25 index of the same passages built by Anserini's IndexCollection).
#
#   bash eval/bench/bench_java_rerank.sh [--queries 40] [--depth 50] [--threads 2]
#        [--dtype f32] [--repeat 3] [--model DIR]
#
# Needs `mvn -DskipTests package` first (target/native/rankt5, target/classes)
# and a JDK >= 21 (JAVA_HOME). Without --model it makes a random-weight
# t5-shaped model (d_model 256, 4 layers, eval/bench/gen_random_model.py): more
# compute per pair than the demo model, still seconds per run. The passages are
# the demo collection's sentences joined 2-4 at a time.
set -euo pipefail
cd "$(dirname "$0")/../.."
queries=40 depth=50 threads=2 dtype=f32 repeat=3 model=
while [ $# -gt 0 ]; do
  case "$1" in
    --queries) queries=$2; shift 2 ;;
    --depth) depth=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --dtype) dtype=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    *) echo "usage: $0 [--queries N] [--depth N] [--threads N] [--dtype T] [--repeat N] [--model DIR]" >&2; exit 2 ;;
  esac
done
source tests/java/find_jdk.sh
java=$JAVA_HOME/bin/java
cli=target/native/rankt5
[ -x "$cli" ] && [ -d target/classes/io/rankt5 ] || { echo "run 'mvn -DskipTests package' first" >&2; exit 1; }
shared=${RT5_SHARED_DIR:-$(cd .. && pwd)/shared}
spm=${RANKT5_T5_SPIECE:-$shared/tokenizer/t5-spiece.model}
work=target/bench-java
mkdir -p "$work"
if [ -z "$model" ]; then
  model=$work/model
  [ -f "$model/model.safetensors" ] || python3 eval/bench/gen_random_model.py --out "$model" --d-model 256 --layers 4 >&2
fi
mvn -B -q -o dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" -Dmdep.includeScope=test >&2 ||
  mvn -B -q dependency:build-classpath -Dmdep.outputFile="$work/cp.txt" -Dmdep.includeScope=test >&2
cp="target/classes:$(cat "$work/cp.txt")"

python3 - "$work" "$queries" "$depth" <<'PY'
import json, os, random, sys
work, nq, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(12)
demo = "tests/fixtures/demo"
sents = [l.rstrip("\n").split("\t", 1)[1] for l in open(f"{demo}/collection.tsv")]
qs = [l.rstrip("\n").split("\t", 1)[1] for l in open(f"{demo}/queries.tsv")]
n_docs = max(200, depth * 4)
with open(f"{work}/collection.tsv", "w") as c, open(f"{work}/json/docs.jsonl" if os.makedirs(f"{work}/json", exist_ok=True) is None else "", "w") as j:
    for i in range(n_docs):
        text = " ".join(rng.sample(sents, rng.randint(2, 4)))
        c.write(f"d{i}\t{text}\n")
        j.write(json.dumps({"id": f"d{i}", "contents": text}) + "\n")
with open(f"{work}/queries.tsv", "w") as q, open(f"{work}/run.trec", "w") as r:
    for k in range(nq):
        q.write(f"{k + 1}\t{qs[k % len(qs)]} {['', 'please', 'exactly', 'today', 'in short'][k // len(qs) % 5]}\n")
        for rank, d in enumerate(rng.sample(range(n_docs), depth)):
            r.write(f"{k + 1} Q0 d{d} {rank + 1} {100 - rank * 0.5:.2f} bm25\n")
PY

pairs=$((queries * depth))
echo "== $queries queries x $depth passages = $pairs pairs, model $model, --dtype $dtype, $threads threads" >&2
declare -a tc tj rc rj cc cj sj
# the CLI's fixed CPU cost (start, model load, engine) from a one-pair run, to isolate its scoring stage's CPU
head -n 1 "$work/run.trec" > "$work/one.trec"
fixed=()
for i in 1 2 3; do
  /usr/bin/time -f "%U %S" -o "$work/one.cpu" "$cli" rerank --model "$model" --tokenizer "$spm" --dtype "$dtype" \
    --threads "$threads" --run "$work/one.trec" --queries "$work/queries.tsv" --collection "$work/collection.tsv" \
    -o "$work/one.out" 2>/dev/null
  fixed+=("$(awk '{print $1 + $2}' "$work/one.cpu")")
done
for i in $(seq 1 "$repeat"); do
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/cli.cpu" "$cli" rerank --model "$model" --tokenizer "$spm" --dtype "$dtype" --threads "$threads" --group-pairs 64 \
    --run "$work/run.trec" --queries "$work/queries.tsv" --collection "$work/collection.tsv" --top "$depth" \
    -o "$work/cli.trec" 2>"$work/cli.err"
  t1=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/java.cpu" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.rankt5.anserini.RerankRun -run "$work/run.trec" \
    -topics "$work/queries.tsv" -topicReader TsvString -collection "$work/collection.tsv" -model "$model" \
    -tokenizer "$spm" -dtype "$dtype" -modelThreads "$threads" -groupPairs 64 -rerankcutoff "$depth" \
    -hits "$depth" -output "$work/java.trec" -quiet 2>"$work/java.err"
  t2=$(date +%s.%N)
  tc+=("$(echo "$t1 - $t0" | bc)"); tj+=("$(echo "$t2 - $t1" | bc)")
  cc+=("$(awk '{print $1 + $2}' "$work/cli.cpu")"); cj+=("$(awk '{print $1 + $2}' "$work/java.cpu")")
  # each tool's own time over its scoring (model load and process start excluded), as pairs/s;
  # and the CPU seconds of Java's scoring stage
  rc+=("$(echo "$pairs / $(grep -o '([0-9.]* s,' "$work/cli.err" | tail -1 | tr -d '(s,')" | bc -l)")
  rj+=("$(echo "$pairs / $(grep -o 'pairs in [0-9.]* s' "$work/java.err" | head -1 | cut -d' ' -f3)" | bc -l)")
  sj+=("$(grep -o '[0-9.]* s of CPU' "$work/java.err" | head -1 | cut -d' ' -f1)")
  printf 'run %d: rankt5 rerank %.2f s, %.2f s CPU (scoring %.2f pairs/s); java RerankRun %.2f s, %.2f s CPU (scoring %.2f pairs/s, %.2f s CPU)\n' \
    "$i" "${tc[-1]}" "${cc[-1]}" "${rc[-1]}" "${tj[-1]}" "${cj[-1]}" "${rj[-1]}" "${sj[-1]}" >&2
done
python3 - "$work" "$pairs" "${tc[*]}" "${tj[*]}" "${rc[*]}" "${rj[*]}" "${cc[*]}" "${cj[*]}" "${sj[*]}" \
  "${fixed[*]}" <<'PY'
import statistics, struct, sys
work, pairs = sys.argv[1], int(sys.argv[2])
tc = [float(x) for x in sys.argv[3].split()]; tj = [float(x) for x in sys.argv[4].split()]
rc = [float(x) for x in sys.argv[5].split()]; rj = [float(x) for x in sys.argv[6].split()]
cc = [float(x) for x in sys.argv[7].split()]; cj = [float(x) for x in sys.argv[8].split()]
sj = [float(x) for x in sys.argv[9].split()]; fixed = statistics.median(float(x) for x in sys.argv[10].split())
f32 = lambda s: struct.unpack("<f", struct.pack("<f", float(s)))[0]
def run(p):
    return [(l.split()[0], l.split()[2], f32(l.split()[4])) for l in open(p)]
a, b = run(f"{work}/cli.trec"), run(f"{work}/java.trec")
same = len(a) == len(b) and all(x == y for x, y in zip(a, b))
mc, mj = statistics.median(tc), statistics.median(tj)
print(f"same ranking and scores as the CLI: {same} ({len(a)} lines)")
print(f"rankt5 rerank   : median {mc:.2f} s  {pairs / mc:.1f} pairs/s  (runs: {', '.join(f'{x:.2f}' for x in tc)})")
print(f"java RerankRun  : median {mj:.2f} s  {pairs / mj:.1f} pairs/s  (runs: {', '.join(f'{x:.2f}' for x in tj)})")
print(f"ratio java/cli pairs/s, process start to exit: {mc / mj:.3f}")
print(f"scoring stage (each tool's own pairs/s, load excluded): rankt5 rerank median {statistics.median(rc):.1f},"
      f" java median {statistics.median(rj):.1f}, ratio {statistics.median(rj) / statistics.median(rc):.3f}")
print("  per-run ratios java/cli: " + ", ".join(f"{j / c:.3f}" for c, j in zip(rc, rj)))
print(f"CPU seconds, process start to exit (user+sys, all threads): rankt5 rerank median {statistics.median(cc):.2f},"
      f" java median {statistics.median(cj):.2f}, ratio cli/java {statistics.median(cc) / statistics.median(cj):.3f}")
sc = statistics.median(cc) - fixed
print(f"CPU seconds of the scoring stage: rankt5 rerank {sc:.2f} (total minus {fixed:.2f} s of start and load),"
      f" java {statistics.median(sj):.2f}; ratio cli/java {sc / statistics.median(sj):.3f} (1 = the same CPU per pair)")
PY
grep -h "pairs/s\|time split" "$work/java.err" >&2

echo "== BM25 -> RankT5 (SearchRerank, top $depth of BM25 on an index of the same passages)" >&2
rm -rf "$work/bm25"
"$java" -cp "$cp" io.anserini.index.IndexCollection -collection JsonCollection -input "$work/json" \
  -index "$work/bm25" -generator DefaultLuceneDocumentGenerator -threads 1 -storeRaw -quiet >/dev/null 2>&1
"$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.rankt5.anserini.SearchRerank -index "$work/bm25" \
  -topics "$work/queries.tsv" -topicReader TsvString -bm25 -hits "$depth" -rerankcutoff "$depth" \
  -model "$model" -tokenizer "$spm" -dtype "$dtype" -modelThreads "$threads" -output "$work/bm25-rankt5.trec" -quiet
