#!/bin/sh
# tools/fuzz.sh TARGET SECONDS: fuzzes one parser with libFuzzer (clang, with ASan and UBSan)
# from its seed corpus, tests/fuzz/corpus/TARGET, and past findings, tests/fuzz/regress/TARGET.
# New inputs collect in build-fuzz/corpus/TARGET; a finding is written to build-fuzz/findings/
# and the run fails. Add each finding, once fixed, to tests/fuzz/regress/TARGET/ so ctest
# replays it. SECONDS 0 only runs the seeds and past findings once, under clang's sanitizers
# (.ci/run does, for all: gcc's UBSan misses some of what clang's finds, such as NULL + 0).
# TARGET: see tests/fuzz/CMakeLists.txt (safetensors index torch_bin pickle config
# tokenizer_json tokenize image request).
set -eu
[ $# -eq 2 ] || { echo "usage: tools/fuzz.sh TARGET SECONDS" >&2; exit 2; }
t=$1 secs=$2
cd "$(dirname "$0")/.."
[ -d "tests/fuzz/corpus/$t" ] || { echo "tools/fuzz.sh: no fuzz target '$t'" >&2; exit 2; }
command -v clang >/dev/null || { echo "tools/fuzz.sh: needs clang (tools/setup.sh --fuzz)" >&2; exit 2; }
b=build-fuzz
if [ ! -f $b/CMakeCache.txt ]; then
    cmake -S . -B $b -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKSEEK_FUZZ=ON >/dev/null
fi
cmake --build $b --target "fuzz_$t" -j"$(nproc)" >/dev/null
mkdir -p "$b/corpus/$t" "$b/findings"
inputs="tests/fuzz/corpus/$t"
[ -d "tests/fuzz/regress/$t" ] && inputs="$inputs tests/fuzz/regress/$t"
if [ "$secs" = 0 ]; then how=-runs=0; else how=-max_total_time=$secs; fi
# leaks are findings too; 2 GB and 10 s per input bound memory and time (hangs are findings)
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$b/tests/fuzz/fuzz_$t" $how -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$b/findings/$t-" "$b/corpus/$t" $inputs
