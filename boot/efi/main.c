/* SPDX-License-Identifier: MIT */
/*
 * vigil-efi: load \vigil\vigil.elf, gather what the kernel needs from the
 * firmware into a struct boot_info, exit boot services and jump.
 *
 * The order matters in two places: everything that allocates or prints
 * happens before the final GetMemoryMap, and nothing but the memory-map
 * conversion and the jump happens after ExitBootServices.  Any failure before
 * that point gives back what was allocated, says what went wrong and returns
 * to the firmware; the kernel is never entered half loaded.
 */
#include "loader.h"

#define KERNEL_FILE_MAX (256U * 1024U * 1024U)

static void banner(void)
{
	UINT32 rev = ST->Hdr.Revision, minor = rev & 0xffff;

	Print(L"\r\n");
	log_info(L"vigil-efi %a: UEFI loader for the vigil kernel", VIGIL_EFI_VERSION);
	if (minor % 10)
		log_info(L"firmware: %s (revision 0x%x), UEFI %d.%d.%d", ST->FirmwareVendor,
			 ST->FirmwareRevision, rev >> 16, minor / 10, minor % 10);
	else
		log_info(L"firmware: %s (revision 0x%x), UEFI %d.%d", ST->FirmwareVendor,
			 ST->FirmwareRevision, rev >> 16, minor / 10);
}

/* "vigil-efi 0.1.0 / EDK II": the vendor string is firmware memory, copied
 * while boot services still run; anything outside ASCII becomes '?'. */
static void set_loader_name(struct boot_info *bi)
{
	static const char prefix[] = "vigil-efi " VIGIL_EFI_VERSION " / ";
	const CHAR16 *v = ST->FirmwareVendor ? ST->FirmwareVendor : L"unknown firmware";
	UINTN n = 0, i;

	for (i = 0; prefix[i] && n + 1 < sizeof(bi->loader_name); i++)
		bi->loader_name[n++] = prefix[i];
	for (i = 0; v[i] && n + 1 < sizeof(bi->loader_name); i++)
		bi->loader_name[n++] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
	bi->loader_name[n] = '\0';
}

static EFI_STATUS load_kernel(EFI_FILE_HANDLE root, struct kernel_image *k)
{
	void *elf = NULL;
	UINTN size = 0;
	EFI_STATUS st;

	st = file_read_all(root, KERNEL_PATH, KERNEL_FILE_MAX, &elf, &size);
	if (st == EFI_NOT_FOUND)
		log_error(L"%s not found on the loader's volume", KERNEL_PATH);
	if (EFI_ERROR(st))
		return st;
	st = elf_load_kernel(elf, size, k);
	FreePool(elf);
	return st;
}

/* Returns only on failure (with everything it allocated from the pool freed;
 * kept pages are released by the caller). */
static EFI_STATUS boot(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *loaded;
	EFI_FILE_HANDLE root;
	struct boot_info *bi;
	struct kernel_image k;
	struct efi_mmap mm;
	UINT64 bi_phys, stack_top, cr3, top;
	BOOLEAN gone;
	EFI_STATUS st;

	SetMem(&mm, sizeof(mm), 0);
	st = volume_open(image, &loaded, &root);
	if (EFI_ERROR(st))
		return st;

	/* Below 4 GiB, so the kernel's first page tables reach it easily. */
	st = keep_pages_below(SIZE_4GIB - 1,
			      (UINTN)(ALIGN_UP(sizeof(*bi), EFI_PAGE_BYTES) / EFI_PAGE_BYTES),
			      &bi_phys);
	if (EFI_ERROR(st)) {
		log_error(L"no memory for boot_info: %r", st);
		goto close_root;
	}
	bi = (struct boot_info *)(UINTN)bi_phys;

	st = cmdline_get(loaded, root, bi->cmdline, bi->cmdline_note);
	if (EFI_ERROR(st))
		goto close_root;
	st = load_kernel(root, &k);
	if (EFI_ERROR(st))
		goto close_root;
	root->Close(root);

	bi->rsdp_phys = acpi_find_rsdp();
	gop_describe(&bi->fb);
	bi->trampoline_phys = trampoline_alloc();
	st = handoff_stack_alloc(&stack_top);
	if (EFI_ERROR(st))
		return st;

	st = memmap_prepare(&mm);
	if (EFI_ERROR(st))
		return st;
	st = memmap_read(&mm);
	if (EFI_ERROR(st)) {
		log_error(L"GetMemoryMap failed: %r", st);
		goto free_map;
	}
	top = memmap_ram_top(&mm);
	if (top < SIZE_4GIB)
		top = SIZE_4GIB;
	if (bi->fb.base && bi->fb.base + (UINT64)bi->fb.pitch * bi->fb.height > top)
		top = bi->fb.base + (UINT64)bi->fb.pitch * bi->fb.height;
	st = paging_build(top, &k, &cr3);
	if (EFI_ERROR(st))
		goto free_map;

	bi->magic = BOOT_INFO_MAGIC;
	bi->version = BOOT_INFO_VERSION;
	bi->loader = BOOT_LOADER_EFI;
	bi->kernel_phys_base = k.phys_base;
	bi->kernel_size = k.size;
	set_loader_name(bi);
	log_info(L"boot_info at 0x%lx; exiting boot services and starting the kernel", bi_phys);

	/* From here on: no Print, no allocation (UEFI 2.10 section 7.4). */
	st = exit_boot_services(image, &mm, &gone);
	if (EFI_ERROR(st)) {
		if (gone) {
			/* Boot services may be half gone: returning to the
			 * firmware is not safe.  Try to say why, then stop. */
			log_error(L"ExitBootServices failed: %r; halting", st);
			halt_forever();
		}
		log_error(L"ExitBootServices: could not get the memory map: %r", st);
		goto free_map;
	}
	memmap_to_boot_info(&mm, bi);
	handoff_jump(cr3, k.entry, stack_top, bi_phys);

free_map:
	memmap_release(&mm);
	return st;
close_root:
	root->Close(root);
	return st;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_STATUS st;

	InitializeLib(image, systab);
	banner();
	st = boot(image);
	keep_release_all();
	return boot_failed(st);
}
