#!/usr/bin/env bash
# `make test-scale`: peak memory of `sgd-escape run --out` for one Monte Carlo cell of 10⁵
# and of 10⁷ paths (a quadratic well left in ~18 steps, so the 10⁷ run is dominated by
# storing 10⁷ sample rows: about 40 s and 0.6 GB of disk). Passes when the 10⁷-path peak
# RSS is within 2× of the 10⁵-path one. Not part of CI (time, disk).
# Usage: Tests/scale/test-scale.sh PATH/TO/sgd-escape [PATHS_SMALL PATHS_LARGE]
set -euo pipefail
BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sgd-escape [small large]}")
SMALL=${2:-100000}
LARGE=${3:-10000000}
if [ ! -x /usr/bin/time ]; then
    echo "test-scale: installing time (apt-get)"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi
WORK=$(mktemp -d /tmp/sgd-escape-scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
rss() {  # $1 = paths; prints "KB seconds"
    cat >"$WORK/job-$1.toml" <<SPEC
name = "scale"
seed = 1
[landscape]
potential = "x^2/2"
[start]
point = [0.0]
[exit]
when = "x > 0.5 || x < -0.5"
[[experiment]]
name = "quadratic"
dynamics = "langevin"
epsilon = 1.0
dt = 0.01
paths = $1
max_steps = 10000
SPEC
    /usr/bin/time -f "%M %e" -o "$WORK/time-$1" "$BIN" run "$WORK/job-$1.toml" --out "$WORK/out-$1" --quiet >/dev/null
    rm -rf "$WORK/out-$1"
    cat "$WORK/time-$1"
}
read -r small_kb small_s < <(rss "$SMALL")
read -r large_kb large_s < <(rss "$LARGE")
echo "test-scale: $SMALL paths: peak RSS $((small_kb / 1024)) MiB ($small_s s); $LARGE paths: peak RSS $((large_kb / 1024)) MiB ($large_s s)"
if [ "$large_kb" -le $((2 * small_kb)) ]; then
    echo "test-scale: PASS (ratio $(awk "BEGIN { printf \"%.2f\", $large_kb / $small_kb }") ≤ 2)"
else
    echo "test-scale: FAILED: the $LARGE-path run peaked above 2× the $SMALL-path run" >&2
    exit 1
fi
