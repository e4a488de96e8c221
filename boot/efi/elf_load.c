/* SPDX-License-Identifier: MIT */
/*
 * Validate the kernel ELF and load its PT_LOAD segments.
 *
 * The kernel is a static x86-64 executable linked at KERNEL_VIRT_BASE with
 * load addresses (p_paddr) from KERNEL_DEFAULT_PHYS (arch/x86/kernel.ld).  It
 * is loaded as one contiguous block: physical = base + (p_vaddr - lowest
 * p_vaddr), so the paging code can map it with one linear offset.  Every
 * check names what is wrong: a bad kernel file is a build problem and the
 * message is all the user gets.
 */
#include "loader.h"
#include "elf64.h"

#define KERNEL_MAX_SPAN (512ULL * SIZE_1MIB)

/* What the checks learned about the image. */
struct layout {
	UINT64 vmin, vend;   /* [lowest p_vaddr, highest p_vaddr + p_memsz) */
	UINT64 pmin;         /* p_paddr of the lowest segment: preferred phys base */
	UINT64 delta;        /* p_vaddr - p_paddr, the same for every segment */
	UINTN loads;         /* number of non-empty PT_LOAD segments */
};

/* Program headers are copied out: e_phoff need not be aligned in the file. */
static void get_phdr(const UINT8 *file, const struct elf64_ehdr *eh, UINTN i,
		     struct elf64_phdr *ph)
{
	CopyMem(ph, file + eh->e_phoff + i * sizeof(*ph), sizeof(*ph));
}

static EFI_STATUS bad(const CHAR16 *what)
{
	log_error(L"%s: %s", KERNEL_PATH, what);
	return EFI_LOAD_ERROR;
}

static EFI_STATUS check_header(const UINT8 *file, UINTN size, struct elf64_ehdr *eh)
{
	if (size < sizeof(*eh))
		return bad(L"too short for an ELF header");
	CopyMem(eh, file, sizeof(*eh));
	if (eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E' || eh->e_ident[2] != 'L' ||
	    eh->e_ident[3] != 'F')
		return bad(L"not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return bad(L"not a 64-bit ELF file (EI_CLASS is not ELFCLASS64)");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return bad(L"not a little-endian ELF file");
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return bad(L"unknown ELF version");
	if (eh->e_machine != EM_X86_64)
		return bad(L"not an x86-64 ELF file (e_machine is not EM_X86_64)");
	if (eh->e_type != ET_EXEC)
		return bad(L"not an executable (e_type is not ET_EXEC); "
			   L"link the kernel static, not PIE");
	if (eh->e_phentsize != sizeof(struct elf64_phdr))
		return bad(L"e_phentsize is not the size of an ELF64 program header");
	if (eh->e_phnum == 0)
		return bad(L"no program headers");
	if (eh->e_phoff > size ||
	    (UINT64)eh->e_phnum * sizeof(struct elf64_phdr) > size - eh->e_phoff)
		return bad(L"program header table runs past the end of the file");
	return EFI_SUCCESS;
}

static EFI_STATUS check_segments(const UINT8 *file, UINTN size,
				 const struct elf64_ehdr *eh, struct layout *l)
{
	struct elf64_phdr ph, other;
	BOOLEAN entry_ok = FALSE;
	UINTN i, j;

	SetMem(l, sizeof(*l), 0);
	l->vmin = ~0ULL;
	for (i = 0; i < eh->e_phnum; i++) {
		get_phdr(file, eh, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			log_error(L"%s: segment %ld: p_filesz 0x%lx > p_memsz 0x%lx",
				  KERNEL_PATH, i, ph.p_filesz, ph.p_memsz);
			return EFI_LOAD_ERROR;
		}
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
			log_error(L"%s: segment %ld: file bytes 0x%lx+0x%lx run past the end "
				  L"of the file (0x%lx bytes)", KERNEL_PATH, i, ph.p_offset,
				  ph.p_filesz, (UINT64)size);
			return EFI_LOAD_ERROR;
		}
		if (ph.p_vaddr < KERNEL_VIRT_BASE) {
			log_error(L"%s: segment %ld: p_vaddr 0x%lx is below KERNEL_VIRT_BASE "
				  L"0x%lx", KERNEL_PATH, i, ph.p_vaddr, KERNEL_VIRT_BASE);
			return EFI_LOAD_ERROR;
		}
		if (ph.p_memsz > ~0ULL - ph.p_vaddr) {
			log_error(L"%s: segment %ld: p_vaddr 0x%lx + p_memsz 0x%lx wraps around",
				  KERNEL_PATH, i, ph.p_vaddr, ph.p_memsz);
			return EFI_LOAD_ERROR;
		}
		if (l->loads == 0) {
			l->delta = ph.p_vaddr - ph.p_paddr;
		} else if (ph.p_vaddr - ph.p_paddr != l->delta) {
			/* GRUB loads by p_paddr and we load by p_vaddr: both must
			 * describe the same layout. */
			log_error(L"%s: segment %ld: p_vaddr - p_paddr differs from the other "
				  L"segments", KERNEL_PATH, i);
			return EFI_LOAD_ERROR;
		}
		for (j = 0; j < i; j++) {
			get_phdr(file, eh, j, &other);
			if (other.p_type != PT_LOAD || other.p_memsz == 0)
				continue;
			if (ph.p_vaddr < other.p_vaddr + other.p_memsz &&
			    other.p_vaddr < ph.p_vaddr + ph.p_memsz) {
				log_error(L"%s: segments %ld and %ld overlap", KERNEL_PATH, j, i);
				return EFI_LOAD_ERROR;
			}
		}
		if (ph.p_vaddr < l->vmin) {
			l->vmin = ph.p_vaddr;
			l->pmin = ph.p_paddr;
		}
		if (ph.p_vaddr + ph.p_memsz > l->vend)
			l->vend = ph.p_vaddr + ph.p_memsz;
		if ((ph.p_flags & PF_X) && eh->e_entry >= ph.p_vaddr &&
		    eh->e_entry - ph.p_vaddr < ph.p_memsz)
			entry_ok = TRUE;
		l->loads++;
	}
	if (l->loads == 0)
		return bad(L"no loadable (PT_LOAD) segment");
	if (l->vmin != KERNEL_VIRT_BASE) {
		log_error(L"%s: lowest segment is at 0x%lx, not at KERNEL_VIRT_BASE 0x%lx",
			  KERNEL_PATH, l->vmin, KERNEL_VIRT_BASE);
		return EFI_LOAD_ERROR;
	}
	if (l->vend - l->vmin > KERNEL_MAX_SPAN) {
		log_error(L"%s: image spans 0x%lx bytes, more than the 0x%lx allowed",
			  KERNEL_PATH, l->vend - l->vmin, KERNEL_MAX_SPAN);
		return EFI_LOAD_ERROR;
	}
	if (!entry_ok) {
		log_error(L"%s: entry point 0x%lx is not inside an executable segment",
			  KERNEL_PATH, eh->e_entry);
		return EFI_LOAD_ERROR;
	}
	return EFI_SUCCESS;
}

/*
 * Physical room for the image: its preferred address first (where Multiboot2
 * puts it too), else anywhere below 4 GiB, else anywhere.  The fallbacks keep
 * 2 MiB alignment so the kernel can map itself with large pages later.
 */
static EFI_STATUS place(const struct layout *l, UINTN pages, UINT64 *base)
{
	EFI_STATUS st = EFI_INVALID_PARAMETER;

	if ((l->pmin & (EFI_PAGE_BYTES - 1)) == 0) {
		st = keep_pages_at(l->pmin, pages);
		if (!EFI_ERROR(st)) {
			*base = l->pmin;
			return st;
		}
	}
	log_info(L"preferred kernel address 0x%lx is not free (%r); relocating", l->pmin, st);
	st = keep_pages_aligned(SIZE_4GIB - 1, pages, SIZE_2MIB, base);
	if (EFI_ERROR(st))
		st = keep_pages_aligned(0, pages, SIZE_2MIB, base);
	if (EFI_ERROR(st))
		log_error(L"no room for the kernel image (%ld KiB): %r",
			  (UINT64)pages * 4, st);
	return st;
}

EFI_STATUS elf_load_kernel(const void *file, UINTN file_size, struct kernel_image *out)
{
	const UINT8 *f = file;
	struct elf64_ehdr eh;
	struct elf64_phdr ph;
	struct layout l;
	UINT64 base = 0, span;
	EFI_STATUS st;
	UINTN i;

	st = check_header(f, file_size, &eh);
	if (EFI_ERROR(st))
		return st;
	st = check_segments(f, file_size, &eh, &l);
	if (EFI_ERROR(st))
		return st;

	span = ALIGN_UP(l.vend - l.vmin, EFI_PAGE_BYTES);
	st = place(&l, (UINTN)(span / EFI_PAGE_BYTES), &base);
	if (EFI_ERROR(st))
		return st;

	/* keep_pages_* hands out zeroed pages, so whatever is not copied from
	 * the file (bss: p_memsz beyond p_filesz, and gaps) is already zero. */
	for (i = 0; i < eh.e_phnum; i++) {
		get_phdr(f, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		CopyMem((void *)(UINTN)(base + (ph.p_vaddr - l.vmin)), (void *)(f + ph.p_offset),
			ph.p_filesz);
	}

	out->entry = eh.e_entry;
	out->phys_base = base;
	out->size = span;
	log_info(L"kernel: %ld segment(s), 0x%lx bytes at phys 0x%lx, entry 0x%lx",
		 l.loads, span, base, eh.e_entry);
	return EFI_SUCCESS;
}
