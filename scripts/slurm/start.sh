#!/usr/bin/env bash
# Start a real one-node SLURM on this host, for the project's tests and for trying
# cluster=slurm by hand:  scripts/slurm/start.sh DIR [SLURMCTLD_PORT SLURMD_PORT]
#
# The two ports (SLURM's own defaults 6817 and 6818 unless given, as arguments or as
# the variables SLURMCTLD_PORT and SLURMD_PORT) let this SLURM start beside another
# on the same machine: each has its DIR, its ports and its slurm.conf, and a command
# talks to the one its SLURM_CONF names.
#
# Installs Debian's slurm-wlm and munge with apt-get if they are missing (needs
# root), starts munged if no munge daemon answers, and starts slurmctld and slurmd
# with a config of their own in DIR (state, spool, logs and PID files there too,
# so every start is a fresh cluster and nothing in /etc/slurm is touched).
# On success it prints the one line to use the cluster:  export SLURM_CONF=DIR/slurm.conf
# scripts/slurm/stop.sh DIR stops it by PID.  Facts behind each setting:
# ../shared/CLUSTER-NOTES.md of the team; the README's cluster section.
# Exit codes: 0 started; 2 bad ports given; 3 cannot start here (the reason on stderr).
set -euo pipefail

usage="usage: scripts/slurm/start.sh DIR [SLURMCTLD_PORT SLURMD_PORT]"
dir=${1:?$usage}
ctld_port=${2:-${SLURMCTLD_PORT:-6817}}
slurmd_port=${3:-${SLURMD_PORT:-6818}}
for port in "$ctld_port" "$slurmd_port"; do
    [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] \
        || { echo "slurm: port '$port' is not a number from 1 to 65535; $usage" >&2; exit 2; }
done
[ "$ctld_port" != "$slurmd_port" ] \
    || { echo "slurm: SLURMCTLD_PORT and SLURMD_PORT are both $ctld_port; they must differ" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf="$dir/slurm.conf"

cannot() { echo "slurm: cannot start a local SLURM here: $*" >&2; exit 3; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [ "$(id -u)" -eq 0 ] || cannot "slurm-wlm and munge are not installed and installing them needs root"
    command -v apt-get >/dev/null || cannot "slurm-wlm and munge are not installed and there is no apt-get"
    echo "slurm: installing slurm-wlm and munge with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >"$dir/apt.log" 2>&1 \
        || { apt-get update -q >>"$dir/apt.log" 2>&1 \
             && apt-get install -y -q slurm-wlm munge >>"$dir/apt.log" 2>&1; } \
        || cannot "apt-get install slurm-wlm munge failed (see $dir/apt.log)"
fi
[ "$(id -u)" -eq 0 ] || cannot "the daemons run as root here (SlurmUser=root), and this is user $(id -un)"

# The controller and the node are this host, by a name that must resolve.
host=$(hostname -s)
getent hosts "$host" >/dev/null || echo "127.0.0.1 $host" >>/etc/hosts

# munge: the daemon authenticates every SLURM message; its socket directory is not
# there on a fresh machine.  A munged that already answers (the system's) is used.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
    [ -f /etc/munge/munge.key ] || cannot "/etc/munge/munge.key is missing (reinstall munge)"
    # Its PID file in its own directory (munged runs as munge), copied to DIR for stop.sh.
    su -s /bin/sh munge -c "munged --pid-file=/run/munge/munged.pid" 2>>"$dir/munged.log" \
        || cannot "munged does not start (see $dir/munged.log)"
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null 2>&1 || cannot "munged started but does not answer"
    cp /run/munge/munged.pid "$dir/munged.pid"
fi

for port in "$ctld_port" "$slurmd_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        cannot "port $port is in use: another SLURM runs here (give this one other ports: $usage)"
    fi
done

# The node's layout as slurmd sees it; memory a little below the machine's, and
# 1 GB per CPU unless asked, so that jobs that ask no memory share the node.
node=$(slurmd -C | head -1 | sed -e 's/ RealMemory=[0-9]*//' -e 's/ UpTime=.*//')
memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
cat >"$conf" <<CONF
# Written by scripts/slurm/start.sh: a one-node SLURM for tests, all state in $dir.
ClusterName=rate-sweeps-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
MailProg=/bin/true
KillWait=5
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=1
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
$node RealMemory=$((memory * 9 / 10)) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF=$conf
slurmctld -f "$conf" || cannot "slurmctld does not start (see $dir/log/slurmctld.log)"
slurmd -f "$conf" || cannot "slurmd does not start (see $dir/log/slurmd.log)"
for _ in $(seq 100); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
    sleep 0.1
done
state=$(sinfo -h -o %T 2>/dev/null || true)
[ "$state" = idle ] || cannot "the node is '$state', not idle, 10 s after start (see $dir/log/)"
echo "export SLURM_CONF=$conf"
