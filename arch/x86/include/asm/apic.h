/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode (SDM vol 3, ch. 11). */
#ifndef ASM_APIC_H
#define ASM_APIC_H
#include <vigil/types.h>

#define APIC_REG_ID       0x020
#define APIC_REG_VERSION  0x030
#define APIC_REG_TPR      0x080
#define APIC_REG_EOI      0x0B0
#define APIC_REG_LDR      0x0D0
#define APIC_REG_DFR      0x0E0
#define APIC_REG_SVR      0x0F0
#define APIC_REG_ESR      0x280
#define APIC_REG_ICR_LO   0x300
#define APIC_REG_ICR_HI   0x310
#define APIC_REG_LVT_TIMER 0x320
#define APIC_REG_LVT_LINT0 0x350
#define APIC_REG_LVT_LINT1 0x360
#define APIC_REG_LVT_ERROR 0x370
#define APIC_REG_TIMER_ICR 0x380
#define APIC_REG_TIMER_CCR 0x390
#define APIC_REG_TIMER_DCR 0x3E0

#define APIC_LVT_MASKED   (1u << 16)
#define APIC_TIMER_PERIODIC (1u << 17)

#define APIC_BASE_BSP    (1ULL << 8)
#define APIC_BASE_X2APIC (1ULL << 10)
#define APIC_BASE_ENABLE (1ULL << 11)

/* ICR delivery modes (SDM vol 3, 11.6.1) */
#define APIC_DM_FIXED   0x000
#define APIC_DM_NMI     0x400
#define APIC_DM_INIT    0x500
#define APIC_DM_STARTUP 0x600
#define APIC_LEVEL_ASSERT (1u << 14)
#define APIC_TRIGGER_LEVEL (1u << 15)
#define APIC_DEST_SELF     (1u << 18)
#define APIC_DEST_ALL_BUT_SELF (3u << 18)
#define APIC_ICR_BUSY      (1u << 12)

/* Mask both 8259s (pic.c): vigil takes interrupts only through the LAPIC. */
void pic_disable(void);
extern bool apic_x2apic_mode;
extern uint32_t lapic_timer_hz;      /* timer ticks per second (periodic interrupt rate) */
extern uint64_t lapic_timer_ticks;   /* interrupts taken on the boot CPU */

void lapic_init_bsp(uint64_t madt_lapic_phys);
void lapic_init_cpu(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void lapic_timer_start(unsigned hz);
/* Install the IPI vectors (ipi.c). */
void ipi_init(void);
/* Switch this CPU's LAPIC to x2APIC mode (lapic.c). */
void lapic_enable_x2apic(void);
#endif
