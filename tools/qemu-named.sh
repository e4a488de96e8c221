#!/usr/bin/env bash
# QEMU with named threads ("CPU 0/TCG", ...), for tools/starve-vcpu.sh.
exec qemu-system-x86_64 -name vigil,debug-threads=on "$@"
