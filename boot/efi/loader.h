/* SPDX-License-Identifier: MIT */
/*
 * vigil-efi: the UEFI loader for the vigil kernel (BOOTX64.EFI).
 *
 * One header for the whole loader: every step of the boot is one file, and
 * this is the list of steps and the few types they pass to each other.  The
 * order in which main.c calls them is the order of this header.
 *
 * Built with gnu-efi and GNU_EFI_USE_MS_ABI: firmware functions are called
 * directly through their (ms_abi) prototypes, so the compiler checks every
 * argument; efi_main itself is entered with the SysV ABI by gnu-efi's crt0.
 */
#ifndef VIGIL_EFI_LOADER_H
#define VIGIL_EFI_LOADER_H

#include <efi.h>
#include <efilib.h>

#include <vigil/boot_info.h>

#ifndef VIGIL_EFI_VERSION
#define VIGIL_EFI_VERSION "0.1.0"
#endif

/* Where the kernel and its command line live on the loader's own volume. */
#define KERNEL_PATH  L"\\vigil\\vigil.elf"
#define CMDLINE_PATH L"\\vigil\\cmdline.txt"

/*
 * Memory the kernel keeps (its image, boot_info, the hand-over page tables
 * and stack, the AP trampoline page) is allocated with this type so that it
 * shows up as BOOT_MEM_KERNEL in the final memory map.  UEFI 2.10 section
 * 7.2 (EFI_BOOT_SERVICES.AllocatePages): types 0x80000000..0xFFFFFFFF are
 * reserved for OS loaders.  Loader code and data (EfiLoaderCode/Data) become
 * usable RAM once the kernel runs, so nothing the kernel reads may live there.
 */
#define VIGIL_KEEP_MEMORY_TYPE ((EFI_MEMORY_TYPE)0x80000001U)

#define EFI_PAGE_BYTES 4096ULL
#define SIZE_2MIB      0x200000ULL
#define SIZE_1MIB      0x100000ULL
#define SIZE_4GIB      0x100000000ULL

#define ALIGN_UP(x, a)   (((x) + (a) - 1) & ~((UINT64)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((UINT64)(a) - 1))

/* ---- console.c: everything the user reads goes through ConOut ---------- */
void log_info(const CHAR16 *fmt, ...);
void log_warn(const CHAR16 *fmt, ...);
void log_error(const CHAR16 *fmt, ...);
/* Final words on a failed boot: say so, give the user time to read, and
 * return the status for efi_main to hand back to the firmware. */
EFI_STATUS boot_failed(EFI_STATUS status);

/* ---- keep_alloc.c: pages of VIGIL_KEEP_MEMORY_TYPE, zeroed ------------- */
EFI_STATUS keep_pages_at(UINT64 addr, UINTN pages);
EFI_STATUS keep_pages_below(UINT64 max_addr, UINTN pages, UINT64 *out);
EFI_STATUS keep_pages_aligned(UINT64 max_addr, UINTN pages, UINT64 align, UINT64 *out);
/* Give everything back: a failed boot returns to the firmware clean. */
void keep_release_all(void);

/* ---- file.c: the volume the loader itself was read from ---------------- */
EFI_STATUS volume_open(EFI_HANDLE image, EFI_LOADED_IMAGE **loaded, EFI_FILE_HANDLE *root);
/* Read a whole file into pool memory.  EFI_NOT_FOUND is returned without a
 * message (the caller decides whether a missing file is an error). */
EFI_STATUS file_read_all(EFI_FILE_HANDLE root, const CHAR16 *path, UINTN max_size,
			 void **data, UINTN *size);

/* ---- cmdline.c --------------------------------------------------------- */
#define CMDLINE_NOTE_MAX sizeof(((struct boot_info *)0)->cmdline_note)
/* The command line into out; a note for the kernel when a bad one was cut
 * or dropped (never an error: a bad command line does not stop the boot). */
EFI_STATUS cmdline_get(EFI_LOADED_IMAGE *loaded, EFI_FILE_HANDLE root, char out[BOOT_CMDLINE_MAX],
		       char note[CMDLINE_NOTE_MAX]);

/* ---- elf_load.c -------------------------------------------------------- */
struct kernel_image {
	UINT64 entry;     /* e_entry: a virtual address in the kernel */
	UINT64 phys_base; /* physical address of KERNEL_VIRT_BASE */
	UINT64 size;      /* page-rounded span from KERNEL_VIRT_BASE, incl. bss */
};
EFI_STATUS elf_load_kernel(const void *file, UINTN file_size, struct kernel_image *out);

/* ---- acpi_rsdp.c, gop.c, trampoline.c ---------------------------------- */
UINT64 acpi_find_rsdp(void);
void gop_describe(struct boot_framebuffer *fb);
UINT64 trampoline_alloc(void);

/* ---- memmap.c: the EFI memory map and its conversion ------------------- */
struct efi_mmap {
	EFI_MEMORY_DESCRIPTOR *buf;
	UINTN capacity;    /* bytes allocated for buf */
	UINTN size;        /* bytes filled in by the last GetMemoryMap */
	UINTN key;
	UINTN desc_size;
	UINT32 desc_version;
	struct boot_mem_region *scratch; /* one slot per descriptor buf can hold */
	UINTN scratch_cap;
};
EFI_STATUS memmap_prepare(struct efi_mmap *m);
void memmap_release(struct efi_mmap *m);
EFI_STATUS memmap_read(struct efi_mmap *m);
UINT64 memmap_ram_top(const struct efi_mmap *m);
/* Pure: no boot service is called, so it runs after ExitBootServices. */
void memmap_to_boot_info(const struct efi_mmap *m, struct boot_info *bi);

/* ---- paging.c: hand-over page tables ------------------------------------ */
EFI_STATUS paging_build(UINT64 identity_top, const struct kernel_image *k, UINT64 *cr3);

/* ---- exit_boot.c --------------------------------------------------------- */
/* On failure *gone tells whether ExitBootServices was attempted (after which
 * only GetMemoryMap may be called, UEFI 2.10 section 7.4). */
EFI_STATUS exit_boot_services(EFI_HANDLE image, struct efi_mmap *m, BOOLEAN *gone);

/* ---- handoff.c ----------------------------------------------------------- */
EFI_STATUS handoff_stack_alloc(UINT64 *stack_top);
__attribute__((noreturn)) void handoff_jump(UINT64 cr3, UINT64 entry, UINT64 stack_top,
					    UINT64 boot_info_phys);
__attribute__((noreturn)) void halt_forever(void);

#endif
