#!/usr/bin/env bash
# Builds the libFuzzer targets (swiftc -sanitize=fuzzer) over the spec parsers and the
# expression compiler and runs each for FUZZ_RUNS inputs (default 10⁶) from the fixed seed
# FUZZ_SEED (default 1), so CI repeats the same inputs, within FUZZ_SECONDS (default 120)
# at most. Any crash, hang (10 s per input) or over-long / multi-line error message fails;
# the input is kept in .build-fuzz/artifacts. Seeds: Fuzz/corpus/* and every
# Reports/*/job.toml. Longer, random exploration: FUZZ_SEED=0 FUZZ_RUNS=-1 FUZZ_SECONDS=600.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-120}"
runs="${FUZZ_RUNS:-1000000}"
seed="${FUZZ_SEED:-1}"
out=.build-fuzz
mkdir -p "$out/artifacts"
spec=Sources/Jobs/Spec
expr=Sources/Diffusion/Expressions
declare -A sources=(
  [toml]="Fuzz/TOMLSpecFuzz.swift $spec/TOMLParser.swift $spec/SpecValue.swift $expr/MessageText.swift"
  [json]="Fuzz/JSONSpecFuzz.swift $spec/JSONSpecParser.swift $spec/SpecValue.swift $expr/MessageText.swift"
  [expr]="Fuzz/ExpressionFuzz.swift $expr/*.swift Sources/Diffusion/KernelInstructionSet.swift"
)
# The expression compiler's block evaluator is C (Sources/CKernels): built here with the
# toolchain's clang and the package's flags, and imported through a module map.
clang="$(dirname "$(command -v swiftc)")/clang"
[ -x "$clang" ] || clang=clang
kernels=()
for c in Sources/CKernels/*.c; do
  o="$out/$(basename "$c" .c).o"
  "$clang" -O3 -ffp-contract=off -fno-fast-math -Wno-psabi -I Sources/CKernels/include -c "$c" -o "$o"
  kernels+=("$o")
done
printf 'module CKernels {\n  umbrella header "%s"\n  export *\n}\n' "$PWD/Sources/CKernels/include/CKernels.h" > "$out/CKernels.modulemap"
status=0
for target in toml json expr; do
  # shellcheck disable=SC2086
  extra=()
  if [ "$target" = expr ]; then extra=(-Xcc -fmodule-map-file="$out/CKernels.modulemap" "${kernels[@]}"); fi
  swiftc -O -sanitize=fuzzer -parse-as-library Fuzz/CheckMessage.swift ${sources[$target]} "${extra[@]}" -o "$out/fuzz-$target"
  corpus="$out/corpus-$target"
  rm -rf "$corpus"; mkdir -p "$corpus"
  cp Fuzz/corpus/$target/* "$corpus/"
  if [ "$target" = toml ]; then cp Reports/*/job.toml "$corpus/" 2>/dev/null || true; fi
  echo "fuzz $target: $runs inputs from seed $seed (at most ${seconds} s)"
  if ! SWIFT_BACKTRACE=enable=no "$out/fuzz-$target" -seed="$seed" -runs="$runs" -max_total_time="$seconds" -timeout=10 -max_len=4096 \
       -artifact_prefix="$out/artifacts/$target-" "$corpus" > "$out/fuzz-$target.log" 2>&1; then
    echo "fuzz $target FAILED:"; grep -a -E "Fatal error|ERROR|artifact" "$out/fuzz-$target.log" | head -5
    status=1
  else
    grep -a "^Done" "$out/fuzz-$target.log"
  fi
done
exit $status
