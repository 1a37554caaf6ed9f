#!/usr/bin/env bash
# eval/trec/run.sh -- one TREC DL / MS MARCO reranking experiment from local
# files: count the (query, passage) pairs, measure pairs/s on this machine and
# print the expected time, rerank the first-stage run with `rankt5 rerank
# --resume` (progress, ETA, and a killed run continues where it stopped), then
# score the first stage and the rerank with `rankt5 eval --preset`.
# The first stage is an existing TREC run (--run: Anserini's BM25 or SPLADE++ ED
# run, any other), or Anserini's BM25 on a Lucene index, run here
# (--bm25-index: SearchCollection -bm25 -hits 1000 with the topics; needs a
# JDK >= 21 and the Anserini classes: $ANSERINI_JAR, a fatjar, or Maven's
# copy from the root pom.xml).
#
#   bash eval/trec/run.sh --run bm25.dl19.trec --topics topics.dl19-passage.txt \
#       --collection collection.tsv --qrels qrels.dl19-passage.txt \
#       --model pytorch_model.bin --tokenizer spiece.model \
#       [--dtype f32|bf16|int8] [--depth 100] [--preset dl|msmarco] [--out DIR]
#       [--threads N] [--bench-pairs N] [--rankt5 PATH]
#   bash eval/trec/run.sh --bm25-index lucene-index.msmarco-v1-passage ...  (instead of --run)
#
# Nothing is downloaded: every input is a local path (eval/trec/README.md says
# where each comes from). The rerank writes DIR/rankt5.<dtype>.depth<K>.trec
# (DIR defaults to eval/trec/out); run the same command again to resume it.
# pairs/s comes from `rankt5 bench` (random MS MARCO-like pairs, the same
# dtype and threads) and only sizes the wait; rerank's own progress line has
# the real rate.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "eval/trec/run.sh: error: $*" >&2; exit 1; }

RUN= BM25_INDEX= TOPICS= COLLECTION= QRELS= MODEL= TOKENIZER= DTYPE=f32 DEPTH=100 PRESET=dl
OUT=$ROOT/eval/trec/out THREADS=$(nproc) BENCH_PAIRS=8 RANKT5=${RT5_CLI:-$ROOT/build/rankt5}
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --run|--bm25-index|--topics|--collection|--qrels|--model|--tokenizer|--dtype|--depth|--preset|--out|--threads|--bench-pairs|--rankt5)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --run) RUN=$2 ;; --bm25-index) BM25_INDEX=$2 ;; --topics) TOPICS=$2 ;; --collection) COLLECTION=$2 ;; --qrels) QRELS=$2 ;;
        --model) MODEL=$2 ;; --tokenizer) TOKENIZER=$2 ;; --dtype) DTYPE=$2 ;; --depth) DEPTH=$2 ;;
        --preset) PRESET=$2 ;; --out) OUT=$2 ;; --threads) THREADS=$2 ;; --bench-pairs) BENCH_PAIRS=$2 ;;
        --rankt5) RANKT5=$2 ;;
      esac
      shift 2 ;;
    *) die "unknown option '$1' (--help lists them)" ;;
  esac
done

# Every problem with the inputs at once, each naming its option and path.
problems=()
first_stage=run
if [ -n "$BM25_INDEX" ]; then
  [ -z "$RUN" ] || problems+=("--run and --bm25-index: give one first stage")
  first_stage=bm25_index
fi
for opt in $first_stage topics collection qrels model tokenizer; do
  var=$(echo "$opt" | tr a-z A-Z)
  path=${!var}
  flag=--${opt//_/-}
  if [ -z "$path" ]; then
    problems+=("$flag is required")
  elif [ ! -e "$path" ]; then
    problems+=("$flag $path: no such file or directory")
  elif [ ! -r "$path" ]; then
    problems+=("$flag $path: not readable")
  fi
done
case $DTYPE in f32|bf16|int8) ;; *) problems+=("--dtype $DTYPE: use f32, bf16 or int8") ;; esac
case $PRESET in dl|msmarco) ;; *) problems+=("--preset $PRESET: use dl or msmarco") ;; esac
[[ $DEPTH =~ ^[0-9]+$ ]] || problems+=("--depth $DEPTH: want a whole number (0 = every document)")
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || problems+=("--threads $THREADS: want a positive whole number")
[[ $BENCH_PAIRS =~ ^[0-9]+$ ]] || problems+=("--bench-pairs $BENCH_PAIRS: want a whole number (0 = skip)")
[ -x "$RANKT5" ] || problems+=("the rankt5 binary $RANKT5 is missing: build it (bash native/build.sh release) or pass --rankt5 PATH")
if [ ${#problems[@]} -gt 0 ]; then
  printf 'eval/trec/run.sh: error: %s\n' "${problems[@]}" >&2
  echo "Try 'bash eval/trec/run.sh --help'." >&2
  exit 2
fi

# Anserini BM25 as the first stage: SearchCollection's own run (kept, so a
# rerun or a resume reuses it), written to a temporary name and renamed.
if [ -n "$BM25_INDEX" ]; then
  mkdir -p "$OUT"
  RUN=$OUT/bm25.trec
  if [ ! -s "$RUN" ]; then
    source "$ROOT/tests/java/find_jdk.sh"
    cp=${ANSERINI_JAR:-}
    if [ -z "$cp" ]; then
      command -v mvn >/dev/null || die "--bm25-index needs Anserini: set ANSERINI_JAR to its fatjar, or install maven"
      (cd "$ROOT" && mvn -B -q -ntp dependency:build-classpath -Dmdep.includeScope=provided \
        -Dmdep.outputFile="$OUT/anserini.cp" >&2) || die "mvn could not resolve Anserini's classpath"
      cp=$(cat "$OUT/anserini.cp")
    fi
    echo "== first stage: Anserini BM25 (SearchCollection -bm25 -hits 1000) on $BM25_INDEX -> $RUN"
    "$JAVA_HOME/bin/java" -cp "$cp" io.anserini.search.SearchCollection -index "$BM25_INDEX" \
      -topics "$TOPICS" -topicReader TsvString -bm25 -hits 1000 -output "$RUN.tmp" >&2 \
      || die "Anserini's SearchCollection failed (see above)"
    mv "$RUN.tmp" "$RUN"
  fi
fi

# Pairs: the first DEPTH documents of each query of the run, as rerank --top takes them.
read -r n_queries pairs < <(awk -v k="$DEPTH" 'NF { n[$1]++ }
  END { q = 0; p = 0; for (id in n) { q++; p += (k > 0 && n[id] > k) ? k : n[id] } print q, p }' "$RUN")
[ "$pairs" -gt 0 ] || die "--run $RUN holds no run lines"
echo "== $n_queries queries x depth $DEPTH: $pairs pairs to score ($DTYPE, $THREADS threads)"

if [ "$BENCH_PAIRS" -gt 0 ]; then
  echo "== measuring pairs/s: rankt5 bench --pairs $BENCH_PAIRS --repeat 1 (loads the model once more)"
  bench=$("$RANKT5" bench --model "$MODEL" --dtype "$DTYPE" --threads "$THREADS" \
    --pairs "$BENCH_PAIRS" --repeat 1 --json) || die "rankt5 bench failed (see above)"
  rate=$(printf '%s\n' "$bench" | sed -n 's/.*"pairs_per_s": \([0-9.eE+-]*\).*/\1/p')
  [ -n "$rate" ] || die "no pairs_per_s in rankt5 bench's output: $bench"
  awk -v p="$pairs" -v r="$rate" 'BEGIN {
    s = p / r; printf "== measured %.3g pairs/s -> expected %.1f s = %.2f h for %d pairs\n", r, s, s / 3600, p }'
fi

mkdir -p "$OUT"
result=$OUT/rankt5.$DTYPE.depth$DEPTH.trec
echo "== rankt5 rerank -> $result (run this command again to resume after a kill)"
"$RANKT5" rerank --model "$MODEL" --tokenizer "$TOKENIZER" --dtype "$DTYPE" --threads "$THREADS" \
  --run "$RUN" --queries "$TOPICS" --collection "$COLLECTION" --top "$DEPTH" -o "$result" --resume

echo "== first stage: rankt5 eval --preset $PRESET (every document of the run)"
"$RANKT5" eval --run "$RUN" --qrels "$QRELS" --preset "$PRESET"
echo "== rankt5 $DTYPE, depth $DEPTH: rankt5 eval --preset $PRESET"
"$RANKT5" eval --run "$result" --qrels "$QRELS" --preset "$PRESET"
