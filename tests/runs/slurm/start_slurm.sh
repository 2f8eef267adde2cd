#!/usr/bin/env bash
# Start a single-node SLURM (munged, slurmctld, slurmd) on localhost with its config, state and logs under $1.
# Each daemon started here is recorded as "name pid" in $1/pids, for stop_slurm.sh. Needs root.
set -euo pipefail
W=$1
H=$(hostname -s)
mkdir -p "$W"/{etc,state,spool,log}
: >"$W/pids"
cat >"$W/etc/slurm.conf" <<CONF
ClusterName=neuroplastic-test
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
KillWait=2
MailProg=/bin/true
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$W/etc/slurm.conf

start() {  # start() NAME CMD...: run CMD detached, record its pid
    local name=$1
    shift
    setsid "$@" </dev/null >"$W/log/$name.out" 2>&1 &
    echo "$name $!" >>"$W/pids"
}

if ! munge -n >/dev/null 2>&1; then
    install -d -o munge -g munge -m 0755 /run/munge
    start munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F
    for _ in $(seq 100); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
fi
start slurmctld slurmctld -D -c
start slurmd slurmd -D

for _ in $(seq 1200); do
    [ "$(sinfo -h -N -o %t 2>/dev/null)" = idle ] && exit 0
    sleep 0.1
done
echo "SLURM node not idle after 120 s" >&2
sinfo -N -l >&2 || true
tail -n 20 "$W"/log/* >&2 || true
exit 1
