#!/bin/sh
# QEMU CPU models side by side (issue 26), run inside the builder image with
# the fixture's builders (examples/builder, one static binary per system) in
# /hb, named by system. README.md says how to run it. It prints one line a
# sample: "<case> <model> <CPU ns>"; the CPU time is the builder's own
# (getrusage: under QEMU, the emulator's, translation included) for cpu, and
# the shell's children (/proc/self/stat) for exec.
#
#   cpu:  $ROUNDS rounds of the fixture's #cpu work under each system's QEMU,
#         its default model against the candidates, every system in turn,
#         $REPS times (a noisy neighbour hurts every case alike).
#   exec: $EXECS short processes (the aarch64 builder printing its machine
#         and exiting, as a configure script runs thousands of programs):
#         plain QEMU with -cpu, the wrapper execing the image's QEMU by path
#         (what nixcross's containers and sandboxed builds do), and a copy of
#         the wrapper whose QEMU path does not match, so it runs the QEMU it
#         carries from a memfd (what other containers do).
ROUNDS=${ROUNDS:-20} REPS=${REPS:-3} EXECS=${EXECS:-200}
cpu() {
	q=$1 m=$2 s=$3
	if [ "$m" = default ]; then set -- "$q"; else set -- "$q" -cpu "$m"; fi
	o=$(env mode=cpu out=/tmp/o rounds=$ROUNDS "$@" /hb/$s 2>&1)
	echo "cpu-$s $m $(echo "$o" | sed -n 's/.*cpu \([0-9]*\) ns.*/\1/p') $(cat /tmp/o)"
}
ticks() { awk '{print ($14+$15+$16+$17) * 10000000}' /proc/$$/stat; }
execs() {
	name=$1; shift
	t0=$(ticks) i=0
	while [ $i -lt "$EXECS" ]; do "$@" /hb/aarch64-linux >/dev/null || exit 1; i=$((i + 1)); done
	echo "exec-aarch64 $name $(( ($(ticks) - t0) / EXECS ))"
}
cp /usr/bin/qemu-aarch64 /tmp/qemu-aarch64 && touch -d @1 /tmp/qemu-aarch64
/usr/libexec/nixcross/qemu-cpu /tmp/qemu-aarch64 cortex-a72 /tmp/wrapper-memfd && rm /tmp/qemu-aarch64
rep=0
while [ $rep -lt "$REPS" ]; do
	o=$(env mode=cpu out=/tmp/o rounds=$ROUNDS /hb/x86_64-linux)
	echo "cpu-x86_64-linux native $(echo "$o" | sed -n 's/.*cpu \([0-9]*\) ns.*/\1/p') $(cat /tmp/o)"
	for m in default cortex-a72 cortex-a53 neoverse-n1; do cpu qemu-aarch64 $m aarch64-linux; done
	for m in default rv64,v=false rva22u64; do cpu qemu-riscv64 $m riscv64-linux; done
	for m in default cortex-a15 cortex-a9 cortex-a7; do cpu qemu-arm $m armv7l-linux; done
	for m in default qemu32 Haswell; do cpu qemu-i386 $m i686-linux; done
	for m in default power8 power9 power10; do cpu qemu-ppc64le $m powerpc64le-linux; done
	for m in default qemu; do cpu qemu-s390x $m s390x-linux; done
	execs qemu-default qemu-aarch64
	execs qemu-cortex-a72 qemu-aarch64 -cpu cortex-a72
	execs wrapper-by-path /usr/libexec/nixcross/qemu-aarch64-cpu
	execs wrapper-memfd /tmp/wrapper-memfd
	rep=$((rep + 1))
done
