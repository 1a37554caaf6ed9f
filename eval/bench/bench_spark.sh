#!/usr/bin/env bash
# eval/bench/bench_spark.sh -- SparkRerank's throughput in Spark local mode: local[1] against local[2] (how one
# executor scales with its cores), RerankRun on the same input and threads as the single-JVM reference, medians of
# RUNS runs each, then a projection of MS MARCO dev top-100 (6,980 queries x 100 = 698,000 pairs) on N executors.
#
#   bash eval/bench/bench_spark.sh [MODEL_DIR]
#
# MODEL_DIR (default): a random-weight d_model 256, 4-layer model made by eval/bench/gen_random_model.py in
# $BENCH_DIR when that script exists, else the tiny demo model (tests/fixtures/demo/model), whose pairs cost so
# little that the numbers then measure overhead. Needs the Java build done first (`mvn -DskipTests package`:
# target/classes with the .so, and Maven's copy of Spark for the classpath). pairs/s is the job's own line (after
# Spark has started: from the first task having its model to the last task's end, as RerankRun's rate starts
# after its load); wall s counts the whole JVM, Spark's start and the model's load included.
# env: RUNS (3), QUERIES (40), QUERIES_PER_PART (2), RATE_3B (0.82 pairs/s: RankT5-3B bf16 on 2 threads,
# docs/performance.md), BENCH_DIR (/tmp/rankt5-bench-spark), JAVA_HOME.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
RUNS=${RUNS:-3}
QUERIES=${QUERIES:-40}
QPP=${QUERIES_PER_PART:-2}
RATE_3B=${RATE_3B:-0.82}
BENCH_DIR=${BENCH_DIR:-/tmp/rankt5-bench-spark}
SPIECE=${RANKT5_T5_SPIECE:-${RT5_SHARED_DIR:-$ROOT/../shared}/tokenizer/t5-spiece.model}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
mkdir -p "$BENCH_DIR"

[ -f target/classes/io/rankt5/spark/SparkRerank.class ] || { echo "bench_spark: build first: mvn -DskipTests package" >&2; exit 1; }
if [ -n "${1:-}" ]; then
  MODEL=$1
elif [ -f eval/bench/gen_random_model.py ]; then
  MODEL=$BENCH_DIR/model-d256-l4
  [ -f "$MODEL/model.safetensors" ] || python3 eval/bench/gen_random_model.py --out "$MODEL" --d-model 256 --layers 4
else
  MODEL=tests/fixtures/demo/model
fi

mvn -B -q -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$BENCH_DIR/cp.txt" >/dev/null
CP=target/classes:$(cat "$BENCH_DIR/cp.txt")
OPTS=$(sed -n 's/.*<spark.jvm.options>\(.*\)<\/spark.jvm.options>.*/\1/p' pom.xml)

# QUERIES topics (the demo queries, numbered variants) x the 30 demo passages, in collection order
python3 - "$BENCH_DIR" "$QUERIES" <<'PY'
import sys
out, n = sys.argv[1], int(sys.argv[2])
qs = [l.rstrip("\n").split("\t", 1)[1] for l in open("tests/fixtures/demo/queries.tsv")]
docs = [l.split("\t", 1)[0] for l in open("tests/fixtures/demo/collection.tsv")]
with open(f"{out}/topics.tsv", "w") as t, open(f"{out}/run.trec", "w") as r:
    for i in range(n):
        qid = str(5000 + i)
        t.write(f"{qid}\t{qs[i % len(qs)]} {'please ' * (i // len(qs))}\n".replace(" \n", "\n"))
        for k, d in enumerate(docs):
            r.write(f"{qid} Q0 {d} {k + 1} {len(docs) - k}.0 bm25\n")
PY
PAIRS_EACH=$((QUERIES * 30))
COMMON=(-run "$BENCH_DIR/run.trec" -topics "$BENCH_DIR/topics.tsv" -topicReader TsvString
  -collection tests/fixtures/demo/collection.tsv -model "$MODEL" -tokenizer "$SPIECE" -rerankcutoff 30 -hits 30 -quiet)

one() { # one run: prints "pairs/s job_pairs/s wall_s"
  local log=$BENCH_DIR/last.log t0 t1
  rm -rf "$BENCH_DIR/out.trec" "$BENCH_DIR/out.trec.parts"
  t0=$(date +%s.%N)
  "$JAVA" --enable-native-access=ALL-UNNAMED $OPTS -Dspark.ui.enabled=false -Dspark.log.level=WARN -cp "$CP" "$@" \
    "${COMMON[@]}" -output "$BENCH_DIR/out.trec" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  t1=$(date +%s.%N)
  local rate job
  rate=$(grep -oE "\(([0-9.]+) pairs/s\)$" "$log" | tail -1 | tr -dc "0-9.")
  job=$(grep -oE " s \(([0-9.]+) pairs/s" "$log" | head -1 | sed 's/.*(//' | tr -dc "0-9.")
  echo "$rate $job $(echo "$t1 - $t0" | bc)"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A RATE JOB WALL
configs=("spark local[1]" "spark local[2]" "rerankrun 1 thread" "rerankrun 2 threads")
for c in "${configs[@]}"; do
  case $c in
    "spark local[1]") args=(io.rankt5.spark.SparkRerank -master "local[1]" -queriesPerPart "$QPP") ;;
    "spark local[2]") args=(io.rankt5.spark.SparkRerank -master "local[2]" -queriesPerPart "$QPP") ;;
    "rerankrun 1 thread") args=(io.rankt5.anserini.RerankRun -threads 1 -modelThreads 1) ;;
    "rerankrun 2 threads") args=(io.rankt5.anserini.RerankRun -threads 2 -modelThreads 2) ;;
  esac
  rates=() jobs=() walls=()
  for i in $(seq "$RUNS"); do
    read -r r j w < <(one "${args[@]}")
    rates+=("$r") jobs+=("$j") walls+=("$w")
    echo "  $c run $i: $r pairs/s (job $j), wall $w s" >&2
  done
  RATE[$c]=$(printf '%s\n' "${rates[@]}" | median)
  JOB[$c]=$(printf '%s\n' "${jobs[@]}" | median)
  WALL[$c]=$(printf '%s\n' "${walls[@]}" | median)
done

echo
echo "SparkRerank / RerankRun, $QUERIES queries x 30 passages = $PAIRS_EACH pairs, model $MODEL, $(nproc) cores,"
echo "medians of $RUNS runs ($(date -u +%Y-%m-%d), $("$JAVA" -version 2>&1 | head -1)):"
printf '| %-20s | %10s | %14s | %10s |\n' "run" "pairs/s" "job pairs/s" "wall s"
printf '|%s|%s|%s|%s|\n' "----------------------" "------------" "----------------" "------------"
for c in "${configs[@]}"; do
  printf '| %-20s | %10s | %14s | %10.1f |\n' "$c" "${RATE[$c]}" "${JOB[$c]}" "${WALL[$c]}"
done
echo "(pairs/s: SparkRerank from its model being ready (in the first task) to its last task's end; RerankRun"
echo " after its load, the same. job pairs/s: SparkRerank from submitting the job to collecting it, Spark's"
echo " first-job setup in a cold JVM included. wall s: the whole JVM.)"
S1=${RATE["spark local[1]"]} S2=${RATE["spark local[2]"]} R2=${RATE["rerankrun 2 threads"]}
awk -v s1="$S1" -v s2="$S2" -v r2="$R2" -v r3b="$RATE_3B" 'BEGIN {
  printf "\nlocal[2] / local[1] = %.2fx (2 cores); SparkRerank local[2] / RerankRun 2 threads = %.2f\n", s2 / s1, s2 / r2
  eff = s2 / r2; if (eff > 1) eff = 1
  pairs = 698000
  printf "\nProjection, MS MARCO dev top-100 (%d pairs), RankT5-3B at %.2f pairs/s per 2-core executor x %.2f (the\n", pairs, r3b, eff
  printf "SparkRerank/RerankRun ratio above), executors independent (no shuffle), plus ~1 min for Spark and the model load:\n"
  printf "| executors (2 cores) | hours |\n|---|---|\n"
  n = split("1 8 32 128 437", ns, " ")
  for (i = 1; i <= n; i++) printf "| %d | %.1f |\n", ns[i], pairs / (ns[i] * r3b * eff) / 3600 + 1 / 60
  printf "(437 = 6,980 queries / 16 per part: more executors than parts leave some idle.)\n"
}'
