; The built-in test guest (virt.h, enum guest_kind): small 32-bit
; protected-mode programs, paging off, flat segments.  vmx_guest.c copies
; one of them to guest-physical 0x1000 and starts it there; they only use
; relative jumps, so they run wherever they are copied.
;
; The instructions were chosen for their VM exits (Intel SDM vol 3C):
; CPUID and VMCALL exit unconditionally (26.1.2), OUT exits with
; "unconditional I/O exiting", HLT with "HLT exiting" (26.1.3), a write
; outside every memory slot is an EPT violation (29.3.3.2), and UD2's #UD
; exits through the exception bitmap (26.2).
bits 32
section .rodata

; GUEST_NORMAL: loop { cpuid; out 0x80, al; vmcall; hlt } forever.  esi
; counts the iterations and is handed to the hypervisor in eax at every
; VMCALL: the host checks that it sees 1, 2, 3... which proves the guest's
; registers survive every exit.
global vmx_guest_normal, vmx_guest_normal_end
vmx_guest_normal:
	xor esi, esi
.loop:
	inc esi
	xor eax, eax
	xor ecx, ecx
	cpuid
	mov eax, esi
	out 0x80, al
	mov eax, esi
	vmcall
	hlt
	jmp .loop
vmx_guest_normal_end:

; GUEST_WILD: write to guest-physical 1 GiB, which no slot maps.
global vmx_guest_wild, vmx_guest_wild_end
vmx_guest_wild:
	mov dword [0x40000000], 0x646c6977
.stop:
	hlt
	jmp .stop
vmx_guest_wild_end:

; GUEST_BAD_INSN: an undefined instruction.
global vmx_guest_bad_insn, vmx_guest_bad_insn_end
vmx_guest_bad_insn:
	ud2
.stop:
	hlt
	jmp .stop
vmx_guest_bad_insn_end:

; GUEST_SPIN: loop { spin 2^22 iterations without an exit; hypercall with
; the loop count in eax, as GUEST_NORMAL }.  Long stretches in the guest,
; so that the host's interrupts find it running (they must make it exit).
global vmx_guest_spin, vmx_guest_spin_end
vmx_guest_spin:
	xor esi, esi
.loop:
	mov ecx, 0x400000
.spin:
	dec ecx
	jnz .spin
	inc esi
	mov eax, esi
	vmcall
	jmp .loop
vmx_guest_spin_end:
