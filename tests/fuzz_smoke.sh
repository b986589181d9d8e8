#!/usr/bin/env bash
# Fuzz smoke: builds the RESP request parser's libFuzzer target with clang
# (--config=fuzz: ASan + libFuzzer; it cannot be part of `bazel test //...`,
# which builds everything with the default toolchain) and runs it for
# FUZZ_SECONDS (default 60) from node/resp/fuzz_corpus. Exits non-zero on
# a build error or a crash (libFuzzer then names the input that crashed;
# it is kept in the printed artifact folder). tests/run.sh counts it as
# one test case.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
if ! bazel build --config=fuzz //node/resp:request_parser_fuzzer; then
  echo "fuzz_smoke: building //node/resp:request_parser_fuzzer with --config=fuzz failed (is clang installed? deploy/setup.sh)" >&2
  exit 1
fi
fuzzer="$(bazel info --config=fuzz bazel-bin 2>/dev/null)/node/resp/request_parser_fuzzer"
work="$(mktemp -d /tmp/slotcache-fuzz.XXXXXX)"
mkdir -p "$work/corpus" "$work/artifacts"
# New inputs go to the scratch corpus (first folder); the seeds stay as
# they are in the tree.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" node/resp/fuzz_corpus \
  > "$work/fuzz.log" 2>&1
rc=$?
tail -n 3 "$work/fuzz.log"
if [ "$rc" -ne 0 ]; then
  echo "fuzz_smoke: the fuzzer failed (exit $rc); log and crashing input in $work" >&2
  grep -E 'ERROR|SUMMARY|Test unit written' "$work/fuzz.log" >&2
  exit 1
fi
echo "fuzz_smoke: no crash in ${seconds}s ($(ls "$work/corpus" | wc -l) new corpus inputs)"
rm -rf "$work"
