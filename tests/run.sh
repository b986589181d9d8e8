#!/usr/bin/env bash
# Sets up (installs, builds) and runs every slotcache test and the fuzz
# smoke (tests/fuzz_smoke.sh, ~60 s), then prints
#   N passed, M failed
# counting individual test cases. Exits non-zero on any failure, build
# error included. Extra arguments go to `bazel test` (e.g. --config=asan).
set -uo pipefail
cd "$(dirname "$0")/.."

deploy/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

ci_flags=()
# In CI every test really runs (no results served from the cache).
if [ "${CI:-}" = "true" ]; then ci_flags+=(--nocache_test_results); fi
bazel test //... "${ci_flags[@]}" "$@" 2>&1 | grep -v -E '^[0-9.]+: src/main/tools/' 
rc=${PIPESTATUS[0]}

passed=0
failed=0
testlogs="$(bazel info bazel-testlogs 2>/dev/null)"
for target in $(bazel query 'tests(//...)' 2>/dev/null); do
  path="${target#//}"
  xml="$testlogs/${path/://}/test.xml"
  if [ ! -f "$xml" ]; then
    echo "no results for $target (did it build?)"
    failed=$((failed + 1))
    continue
  fi
  cases=$(grep -c '<testcase ' "$xml" || true)
  fails=$(grep -c '<failure' "$xml" || true)
  if [ "$cases" -eq 0 ]; then
    # A test binary that is not GoogleTest: one case, judged by the XML.
    cases=1
    grep -q 'failures="[1-9]' "$xml" && fails=1
  fi
  passed=$((passed + cases - fails))
  failed=$((failed + fails))
done

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "bazel test exited with $rc"
  failed=1
fi

# The parser's fuzzer needs clang's libFuzzer (--config=fuzz), which
# `bazel test //...` cannot build: a separate step, counted as one case.
if tests/fuzz_smoke.sh; then
  passed=$((passed + 1))
else
  echo "FAILED: tests/fuzz_smoke.sh"
  failed=$((failed + 1))
  rc=1
fi
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
