; The built-in test guest's code (32-bit protected mode, paging off, flat
; segments: see svm_vmcb.c).  Assembled here as data in .rodata; vcpu_run
; copies one of the three pieces to guest-physical 0x1000 and starts it
; there.  Every piece is position-independent (relative jumps only).
;
; The host's side of the conversation is in svm_exit.c:
;   CPUID 0x40000000 answers "VigilHV SVM " in EBX:ECX:EDX;
;   VMMCALL carries the guest's own count of its hypercalls in EAX, which
;   the host compares with its count (a check that guest registers survive
;   every exit);
;   OUT to port 0x80 (the POST port) and HLT exit and are skipped.

bits 32
section .rodata

; GUEST_NORMAL: loop { count; CPUID; OUT 0x80; VMMCALL; HLT }
global svm_guest_normal, svm_guest_normal_end
svm_guest_normal:
	xor ebp, ebp                ; hypercalls made so far
.loop:
	inc ebp
	mov eax, 0x40000000         ; the hypervisor's CPUID leaf
	xor ecx, ecx
	cpuid                       ; 2 bytes (0F A2)
	cmp ebx, 'Vigi'             ; not our answer: fail loudly
	jne .wrong_cpuid
	mov eax, ebp
	out 0x80, al                ; 2 bytes (E6 80)
	mov eax, ebp
	vmmcall                     ; 3 bytes (0F 01 D9)
	hlt                         ; 1 byte (F4)
	jmp .loop
.wrong_cpuid:
	ud2
svm_guest_normal_end:

; GUEST_WILD: write outside every slot (nested page fault).
global svm_guest_wild, svm_guest_wild_end
svm_guest_wild:
	mov eax, 0x5a5a5a5a
	mov [0x40000000], eax       ; SVM_GUEST_WILD_GPA
.spin:
	hlt
	jmp .spin
svm_guest_wild_end:

; GUEST_BAD_INSN: an undefined instruction (#UD) as the very first one.
global svm_guest_bad_insn, svm_guest_bad_insn_end
svm_guest_bad_insn:
	ud2
.spin:
	hlt
	jmp .spin
svm_guest_bad_insn_end:

; GUEST_SPIN: loop { spin 2^22 iterations without an exit; hypercall with
; the loop count in eax, as GUEST_NORMAL }.  Long stretches in the guest,
; so that the host's interrupts find it running (they must make it exit).
global svm_guest_spin, svm_guest_spin_end
svm_guest_spin:
	xor ebp, ebp
.loop:
	mov ecx, 0x400000
.spin:
	dec ecx
	jnz .spin
	inc ebp
	mov eax, ebp
	vmmcall
	jmp .loop
svm_guest_spin_end:
