#!/usr/bin/env bash
# `make test-slurm`: runs `sgd-escape slurm`'s submit script on a real one-node Slurm cluster
# on localhost (slurmctld + slurmd + munged, all under a temporary directory, as root) and
# checks that the merged shards equal a single-machine run bit for bit (summary.json minus
# wall_seconds, and every per-path sample exported as CSV).
#
# Usage: Tests/slurm/test-slurm.sh PATH/TO/sgd-escape
# Installs Debian's slurm-wlm and munge with apt-get when missing. Needs root (slurmd
# runs jobs as their user; here everything is root). Exit status 0 = match; otherwise the
# reason is printed (daemon log lines included when a daemon cannot run).
set -euo pipefail

BIN=$(readlink -f "${1:?usage: $0 PATH/TO/sgd-escape}")
HERE=$(cd "$(dirname "$0")" && pwd)
SHARDS=3
start_time=$(date +%s)

say() { echo "test-slurm: $*"; }
die() { echo "test-slurm: FAILED: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN is not an executable"
[ "$(id -u)" = 0 ] || die "needs root: slurmd/slurmctld here run as SlurmUser=root (run as root or in a container)"

# 1. Slurm and munge from Debian, when missing.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
    || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi
say "$(slurmctld -V), $(munged -V 2>&1 | awk '{print $1}' | head -1)"

# 2. A private cluster: state, logs, sockets and the key under one temporary directory.
WORK=$(mktemp -d /tmp/sgd-escape-slurm.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    local rc=$?
    if [ -n "${SLURM_CONF:-}" ] && [ "${#PIDS[@]}" -gt 1 ]; then  # our jobs first, so slurmd can reap their steps
        scancel --quiet ${ARRAY_JOB:-} ${MERGE_JOB:-} 2>/dev/null || true
        for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ "$rc" = 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "test-slurm: files kept in $WORK" >&2; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK"/{munge,state,spool,log,run,out}
chmod 700 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
MUNGE_SOCKET="$WORK/munge/munge.socket"
munged --foreground --force --key-file="$WORK/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/log/munged.log" --seed-file="$WORK/munge/seed" \
    >"$WORK/log/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$MUNGE_SOCKET" ] && break; sleep 0.1; done
if ! munge --socket="$MUNGE_SOCKET" -n </dev/null | unmunge --socket="$MUNGE_SOCKET" >/dev/null 2>&1; then
    cat "$WORK/log/munged.out" "$WORK/log/munged.log" >&2 2>/dev/null || true
    die "munged does not encode/decode credentials (log above)"
fi

HOST=$(hostname -s)
CPUS=$(nproc)
# Ports away from the defaults (6817/6818), picked per run so parallel runs do not clash.
PORT_CTLD=$((20000 + RANDOM % 20000))
PORT_SLURMD=$((PORT_CTLD + 1))
export SLURM_CONF="$WORK/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=sgdescape
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT_CTLD
SlurmdPort=$PORT_SLURMD
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
SchedulerParameters=kill_invalid_depend
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=1024 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

daemon_failure() {  # $1 = daemon name: print why it is not running, then fail
    echo "---- $1 log (last lines) ----" >&2
    tail -n 25 "$WORK/log/$1.log" >&2 2>/dev/null || true
    tail -n 25 "$WORK/log/$1.out" >&2 2>/dev/null || true
    local reason
    reason=$(grep -hiE "error|fatal" "$WORK/log/$1.log" "$WORK/log/$1.out" 2>/dev/null | tail -n 3 || true)
    die "$1 cannot run here: ${reason:-no error line in its log (see above)}"
}

slurmctld -D -i -f "$SLURM_CONF" >"$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
CTLD=$!
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; kill -0 "$CTLD" 2>/dev/null || break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q UP || daemon_failure slurmctld
say "slurmctld up on $HOST:$PORT_CTLD"

slurmd -D -f "$SLURM_CONF" >"$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
SLURMD=$!
state=""
for _ in $(seq 150); do
    state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -1 || true)
    [ "$state" = idle ] && break
    kill -0 "$SLURMD" 2>/dev/null || break
    sleep 0.2
done
[ "$state" = idle ] || { sinfo -N -l >&2 || true; scontrol show node "$HOST" >&2 || true; daemon_failure slurmd; }
say "node $HOST idle with $CPUS CPUs"

# 3. The job: a few small cells, sharded three ways through the generated submit script.
cp "$HERE/job.toml" "$WORK/job.toml"
OUT="$WORK/out/slurm run"   # a space in the path on purpose
"$BIN" slurm "$WORK/job.toml" --shards "$SHARDS" --out "$OUT" --binary "$BIN" --partition debug \
    --time 10:00 --cpus-per-task 1 >"$WORK/log/generate.out"
(cd "$WORK" && bash "$OUT/submit.sh") | tee "$WORK/log/submit.out"
read -r ARRAY_JOB MERGE_JOB <"$OUT/slurm-jobs.txt"

job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | tr '\n' ' '; }
deadline=$(($(date +%s) + 240))
while :; do
    merge_state=$(job_state "$MERGE_JOB")
    array_states=$(job_state "$ARRAY_JOB")
    case "$array_states" in
        *FAILED*|*CANCELLED*|*TIMEOUT*|*NODE_FAIL*|*OUT_OF_MEMORY*)
            scontrol show job "$ARRAY_JOB" >&2 || true
            for f in "$OUT"/logs/*; do echo "---- $f" >&2; tail -n 20 "$f" >&2; done
            die "array job $ARRAY_JOB: tasks ended $array_states" ;;
    esac
    case "$merge_state" in
        "COMPLETED ") break ;;
        *FAILED*|*CANCELLED*|*TIMEOUT*|*NODE_FAIL*|*OUT_OF_MEMORY*|*DEADLINE*)
            echo "array job $ARRAY_JOB: $(job_state "$ARRAY_JOB")" >&2
            scontrol show job "$MERGE_JOB" >&2 || true
            for f in "$OUT"/logs/*; do echo "---- $f" >&2; tail -n 20 "$f" >&2; done
            tail -n 20 "$WORK/log/slurmd.log" >&2
            die "merge job $MERGE_JOB ended $merge_state" ;;
    esac
    if [ "$(date +%s)" -gt "$deadline" ]; then
        squeue >&2 || true
        scontrol show job "$ARRAY_JOB" >&2 || true
        tail -n 30 "$WORK/log/slurmctld.log" "$WORK/log/slurmd.log" >&2
        die "timed out waiting for jobs $ARRAY_JOB (array) and $MERGE_JOB (merge); merge state: ${merge_state:-unknown}"
    fi
    sleep 1
done
array_states=$(job_state "$ARRAY_JOB")
[ "$array_states" = "COMPLETED " ] || die "array job $ARRAY_JOB states: $array_states"
tasks=$(scontrol show job "$ARRAY_JOB" | grep -c "ArrayTaskId=" || true)
say "array job $ARRAY_JOB ($tasks tasks) and merge job $MERGE_JOB COMPLETED"

# 4. The same job on this machine, then compare bit for bit.
"$BIN" run "$WORK/job.toml" --out "$WORK/single" --quiet --threads "$CPUS" >/dev/null
strip() { grep -v '"wall_seconds"' "$1"; }
diff <(strip "$WORK/single/summary.json") <(strip "$OUT/merged/summary.json") >&2 \
    || die "merged summary.json differs from the single-machine run (diff above)"
"$BIN" export "$WORK/single" --samples "$WORK/single.csv" 2>/dev/null
"$BIN" export "$OUT/merged" --samples "$WORK/merged.csv" 2>/dev/null
cmp "$WORK/single.csv" "$WORK/merged.csv" >&2 || die "per-path samples differ between the merged and single runs"
cells=$(grep -c '"experiment":' "$WORK/single/summary.json" || true)
samples=$(($(wc -l <"$WORK/single.csv") - 1))
for k in $(seq 1 "$SHARDS"); do
    [ -f "$OUT/shard-$k/results.sqlite" ] || die "shard $k left no results.sqlite"
done
say "PASS: $SHARDS shards on Slurm, merged = single run ($cells cells, $samples samples identical) in $(($(date +%s) - start_time)) s"
