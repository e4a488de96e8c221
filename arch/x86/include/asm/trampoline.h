/*
 * The real-mode trampoline (trampoline.asm), shared by AP bring-up
 * (smp_boot.c) and the S3 wake (s3.c): its bounds, and the labels of the
 * fields each user patches in the copy below 1 MiB.
 */
#ifndef ASM_TRAMPOLINE_H
#define ASM_TRAMPOLINE_H
extern char trampoline_start[], trampoline_end[];
extern char tr_gdt[], tr_gdtr[], tr_pm_entry[], tr_lm_entry[], tr_pm_jump[], tr_lm_jump[];
extern char tr_cr3[], tr_efer_nx[];
/* AP bring-up */
extern char tr_ticket[], tr_stacks[], tr_entry[];
/* S3 wake */
extern char tr_s3_wake[], tr_s3_seg[], tr_s3_entry[], tr_s3_wake_tsc[];
#endif
