#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the format check, then the unit and
# end-to-end tests on the release build and again on the ASan+UBSan build, then the unit tests
# and the stress test on the ThreadSanitizer build (docs/internals/testing.md). The valgrind
# run is separate: scripts/build.sh release && ctest --preset valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/host.sh

echo "== format check (clang-format)"
git ls-files -z -- '*.c' '*.h' | xargs -0 clang-format --dry-run --Werror

status=0
for preset in release asan tsan; do
  echo "== build: $preset"
  scripts/build.sh "$preset" >/dev/null
  echo "== tests: $preset"
  ctest --preset "$preset" || status=1
done
exit $status
