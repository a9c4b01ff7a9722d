#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the Slurm executor's tests and benchmark:
# Debian's slurm-wlm and munge, one slurmctld and one slurmd for the local host, every file
# (configuration, keys, state, spool, logs) under one folder.
#
#   bash scripts/slurm-local.sh start    # install what is missing (root), start, wait for sinfo
#   bash scripts/slurm-local.sh env      # prints `export SLURM_CONF=...` for the cluster
#   bash scripts/slurm-local.sh status   # sinfo and squeue of the cluster
#   bash scripts/slurm-local.sh stop     # cancel its jobs, stop the daemons, remove the folder
#
# Settings (environment): SLURM_LOCAL_DIR (default /tmp/rnn-grader-slurm), SLURM_LOCAL_CPUS
# (the node's CPUs, default: this machine's), SLURM_LOCAL_MEMORY (the node's memory in MiB,
# default: three quarters of this machine's), SLURM_LOCAL_PORT (slurmctld's port, default
# 6817; slurmd takes the next one).
#
# Process tracking is proctrack/linuxproc and task binding task/none: Slurm's cgroup plugins
# need a cgroup hierarchy of their own (systemd's, or cgroup v2 delegation), which containers
# and CI machines like ours do not give.  Without them Slurm still kills a job at its --time
# (all processes of the job, found by parentage) and, through jobacct_gather/linux with
# OverMemoryKill, at its --mem (polled every second); it does not pin CPUs.  The grading
# sandbox puts the student's processes in their own cgroup in any case.
# Safe to run again: `start` on a running cluster only checks that it answers.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/rnn-grader-slurm}
CONF=$DIR/etc/slurm.conf
PORT=${SLURM_LOCAL_PORT:-6817}
NODE=$(hostname -s)
export SLURM_CONF=$CONF

say() { echo "slurm-local: $*"; }
fail() {
    echo "slurm-local: $*" >&2
    for log in "$DIR"/log/*.log; do
        [ -f "$log" ] || continue
        echo "--- the end of $log:" >&2
        tail -n 15 "$log" >&2
    done
    exit 1
}

answers() { [ -f "$CONF" ] && timeout 10 sinfo -h -o %T >/dev/null 2>&1; }

install() {
    local missing=()
    for pkg in slurm-wlm munge; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        fail "please install ${missing[*]} (Debian: apt-get install slurm-wlm munge)"
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

write_config() {
    local cpus memory
    cpus=${SLURM_LOCAL_CPUS:-$(nproc)}
    memory=${SLURM_LOCAL_MEMORY:-$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 3 / 4 }' /proc/meminfo)}
    mkdir -p "$DIR"/etc "$DIR"/state "$DIR"/spool "$DIR"/log "$DIR"/munge
    cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster for tests, all state under $DIR.
ClusterName=rnngrader
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# No cgroup plugins here (see the script's header).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
# Finished jobs stay visible to scontrol for 5 minutes: the harness reads their end state there.
MinJobAge=300
KillWait=10
# Jobs start as soon as they are submitted, not at the next scheduling pass.
SchedulerParameters=sched_min_interval=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    local socket=$DIR/munge/munge.socket
    if [ -S "$socket" ] && munge -s "$socket" -n </dev/null >/dev/null 2>&1; then
        return 0
    fi
    if [ ! -f "$DIR/munge/munge.key" ]; then
        dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
        chmod 600 "$DIR/munge/munge.key"
    fi
    chmod 700 "$DIR/munge"
    munged --force --socket="$socket" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed" || fail "munged did not start"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
    if answers; then
        say "a cluster answers already ($CONF)"
        sinfo
        return 0
    fi
    install
    command -v slurmctld >/dev/null || fail "slurmctld is not installed"
    stop_daemons
    rm -rf "$DIR"  # a cluster that does not answer leaves nothing worth keeping
    write_config
    start_munge
    alive "$DIR/slurmctld.pid" || slurmctld -f "$CONF" || fail "slurmctld did not start"
    alive "$DIR/slurmd.pid" || slurmd -f "$CONF" -N "$NODE" || fail "slurmd did not start"
    for _ in $(seq 60); do
        state=$(timeout 10 sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
        if [ "$state" = "idle" ] || [ "$state" = "mixed" ] || [ "$state" = "allocated" ]; then
            say "up: node $NODE is $state; use it with: export SLURM_CONF=$CONF"
            sinfo
            return 0
        fi
        sleep 1
    done
    fail "the node did not become idle within 60 s (sinfo says: ${state:-nothing})"
}

stop_one() {
    local pidfile=$1
    alive "$pidfile" || return 0
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -9 "$pid" 2>/dev/null || true
}

stop_daemons() {
    stop_one "$DIR/slurmd.pid"
    stop_one "$DIR/slurmctld.pid"
    stop_one "$DIR/munge/munged.pid"
}

stop() {
    if answers; then
        scancel --quiet --user="$(id -un)" 2>/dev/null || true
    fi
    stop_daemons
    rm -rf "$DIR"
    say "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status)
        answers || { say "no cluster answers at $CONF"; exit 1; }
        sinfo
        squeue
        ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *)
        echo "usage: $0 start|stop|status|env" >&2
        exit 2
        ;;
esac
