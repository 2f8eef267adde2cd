#!/usr/bin/env bash
# Cancel every job of the test cluster and wait (up to 15 s) for the queue to drain, so no job step outlives it;
# then stop the daemons that start_slurm.sh recorded in $1/pids: SIGTERM, wait up to 15 s, then SIGKILL what is left.
set -uo pipefail
W=$1
[ -f "$W/pids" ] || exit 0
export SLURM_CONF=$W/etc/slurm.conf
jobs=$(timeout 10 squeue -h -o %A 2>/dev/null)
if [ -n "$jobs" ]; then
    timeout 10 scancel $jobs 2>/dev/null
    for _ in $(seq 150); do
        [ -z "$(timeout 10 squeue -h -o %A 2>/dev/null)" ] && break
        sleep 0.1
    done
fi
pids=$(awk '{print $2}' "$W/pids")
for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
for _ in $(seq 150); do
    alive=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [ -z "$alive" ] && exit 0
    sleep 0.1
done
for pid in $alive; do kill -KILL "$pid" 2>/dev/null; done
exit 0
