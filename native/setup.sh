#!/usr/bin/env bash
# native/setup.sh -- install the Debian packages rankt5 builds and tests with.
# Idempotent: does nothing when everything is already installed. Needs root
# (or sudo) on Debian 12.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config      # toolchain
  clang libclang-rt-14-dev              # libFuzzer and sanitizer runtimes
  libdnnl-dev                           # oneDNN: the GEMMs
  libjansson-dev                        # JSON (tokenizer.json, JSON Lines, HTTP bodies)
  libutf8proc-dev                       # Unicode properties, grapheme clusters (tokenizer)
  libsentencepiece-dev                  # spiece.model and the Unigram search (tokenizer)
  libmicrohttpd-dev                     # HTTP server
  libcurl4-openssl-dev curl             # HTTP client for server tests
  sentencepiece                         # spm_encode: the tokenizer's reference
  python3 python3-venv                  # test drivers; the Python tier's virtual environment
  maven                                 # builds the plugin jar (pom.xml); the JDK >= 21 it needs is
                                        # found under /usr/lib/jvm (tests/java/find_jdk.sh)
  wrk                                   # HTTP load generator (eval/bench/bench_server_wrk.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "rankt5 setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
