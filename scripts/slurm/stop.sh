#!/usr/bin/env bash
# Stop the SLURM that scripts/slurm/start.sh DIR started, by the PID files in DIR:
# slurmd, then slurmctld (it saves its state first, ~3 s), then munged if start.sh
# started it.  Waits until each has exited.  Usage: scripts/slurm/stop.sh DIR
set -uo pipefail
dir=${1:?usage: scripts/slurm/stop.sh DIR}

stop() {
    local file=$dir/$1.pid pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$file"
}

stop slurmd
stop slurmctld
stop munged
