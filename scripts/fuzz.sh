#!/usr/bin/env bash
# Runs one libFuzzer target for a while: scripts/fuzz.sh TARGET [SECONDS] [extra libFuzzer args]
# Builds build/fuzz (clang, ASan+UBSan, -DSOCKERLESS_FUZZ=ON) if needed, fuzzes into a work
# corpus build/fuzz/runs/TARGET seeded from tests/fuzz/corpus/TARGET (the committed corpus is not
# written), with tests/fuzz/TARGET.dict when there is one. Crashes land in build/fuzz/crashes/.
# Afterwards, merge what is worth keeping: see docs/internals/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET [SECONDS] [libFuzzer args...]}"
secs="${2:-600}"
shift $(($# < 2 ? $# : 2))
name="${target#fuzz_}"
if [ ! -f build/fuzz/CMakeCache.txt ]; then
  CC=clang cmake -S . -B build/fuzz -DSOCKERLESS_FUZZ=ON -DSOCKERLESS_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
fi
cmake --build build/fuzz -j2 --target "fuzz_$name" >/dev/null
work="build/fuzz/runs/$name"
mkdir -p "$work" build/fuzz/crashes
dict=()
[ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "build/fuzz/fuzz/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$name-" "${dict[@]}" "$@" \
  "$work" "tests/fuzz/corpus/$name"
