#!/usr/bin/env bash
# Starve one QEMU vCPU thread, to find code that assumes every vCPU makes
# progress in real time (a loaded CI host deschedules vCPU threads).
#
#   VIGIL_QEMU=$PWD/tools/qemu-named.sh tools/harness.py exec --smp 4 "stress ops=100" &
#   sudo tools/starve-vcpu.sh [vcpu=0] [hog_ms=300] [gap_ms=20]
#
# Pins the vCPU's thread ("CPU <n>/TCG", named by -name debug-threads=on)
# to host core 0 and every other QEMU thread to core 1, then runs a
# SCHED_FIFO busy loop on core 0 for hog_ms out of every hog_ms + gap_ms,
# until QEMU exits.  Needs root (chrt -f) and two host cores.
set -u
vcpu=${1:-0}
hog_ms=${2:-300}
gap_ms=${3:-20}
pid=
for _ in $(seq 1 60); do
	pid=$(pgrep -f "qemu-system-x86_64 -name vigil" | head -1)
	[ -n "$pid" ] && break
	sleep 0.5
done
[ -n "$pid" ] || { echo "starve-vcpu: no QEMU started through tools/qemu-named.sh" >&2; exit 1; }
sleep 3 # let it boot
for t in /proc/"$pid"/task/*; do
	tid=$(basename "$t")
	if [ "$(cat "$t/comm")" = "CPU $vcpu/TCG" ]; then
		taskset -p -c 0 "$tid" >/dev/null && echo "starve-vcpu: CPU $vcpu/TCG (thread $tid) on core 0"
	else
		taskset -p -c 1 "$tid" >/dev/null
	fi
done
hog_s=$(awk "BEGIN { print $hog_ms / 1000 }")
gap_s=$(awk "BEGIN { print $gap_ms / 1000 }")
while kill -0 "$pid" 2>/dev/null; do
	chrt -f 50 taskset -c 0 timeout "$hog_s" sh -c 'while :; do :; done'
	sleep "$gap_s"
done
