/* SPDX-License-Identifier: MIT */
/*
 * Files on the volume the loader was started from: the kernel and its
 * command line sit beside it, so moving the ESP moves all three together.
 *
 * UEFI 2.10 section 9.1 (EFI_LOADED_IMAGE_PROTOCOL: DeviceHandle is the
 * device the image was loaded from), 13.4 (EFI_SIMPLE_FILE_SYSTEM_PROTOCOL.
 * OpenVolume) and 13.5 (EFI_FILE_PROTOCOL: Open, GetInfo, Read).
 */
#include "loader.h"

EFI_STATUS volume_open(EFI_HANDLE image, EFI_LOADED_IMAGE **loaded, EFI_FILE_HANDLE *root)
{
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_STATUS st;

	st = BS->HandleProtocol(image, &gEfiLoadedImageProtocolGuid, (void **)loaded);
	if (EFI_ERROR(st)) {
		log_error(L"no LoadedImage protocol on our own image handle: %r", st);
		return st;
	}
	st = BS->HandleProtocol((*loaded)->DeviceHandle, &gEfiSimpleFileSystemProtocolGuid,
				(void **)&fs);
	if (EFI_ERROR(st)) {
		log_error(L"the device the loader came from has no file system (%r); "
			  L"boot from a FAT ESP", st);
		return st;
	}
	st = fs->OpenVolume(fs, root);
	if (EFI_ERROR(st))
		log_error(L"cannot open the loader's volume: %r", st);
	return st;
}

/* GetInfo(EFI_FILE_INFO) returns a variable-size record (the file name is at
 * the end): ask for the size first. */
static EFI_STATUS file_size(EFI_FILE_HANDLE f, const CHAR16 *path, UINT64 *size)
{
	EFI_FILE_INFO *info = NULL;
	UINTN len = 0;
	EFI_STATUS st;

	st = f->GetInfo(f, &gEfiFileInfoGuid, &len, NULL);
	if (st == EFI_BUFFER_TOO_SMALL) {
		info = AllocatePool(len);
		if (!info)
			st = EFI_OUT_OF_RESOURCES;
		else
			st = f->GetInfo(f, &gEfiFileInfoGuid, &len, info);
	}
	if (EFI_ERROR(st)) {
		log_error(L"%s: cannot read file information: %r", path, st);
	} else if (info->Attribute & EFI_FILE_DIRECTORY) {
		log_error(L"%s: is a directory", path);
		st = EFI_INVALID_PARAMETER;
	} else {
		*size = info->FileSize;
	}
	if (info)
		FreePool(info);
	return st;
}

EFI_STATUS file_read_all(EFI_FILE_HANDLE root, const CHAR16 *path, UINTN max_size,
			 void **data, UINTN *size)
{
	EFI_FILE_HANDLE f;
	UINT64 fsize = 0;
	UINTN done = 0;
	UINT8 *buf = NULL;
	EFI_STATUS st;

	st = root->Open(root, &f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	if (st == EFI_NOT_FOUND)
		return st;
	if (EFI_ERROR(st)) {
		log_error(L"%s: cannot open: %r", path, st);
		return st;
	}
	st = file_size(f, path, &fsize);
	if (EFI_ERROR(st))
		goto out;
	if (fsize > max_size) {
		log_error(L"%s: %ld bytes is more than the %ld this loader accepts",
			  path, fsize, (UINT64)max_size);
		st = EFI_BAD_BUFFER_SIZE;
		goto out;
	}
	/* One byte more than needed so that an empty file still gets a buffer. */
	buf = AllocatePool((UINTN)fsize + 1);
	if (!buf) {
		log_error(L"%s: no memory for %ld bytes", path, fsize);
		st = EFI_OUT_OF_RESOURCES;
		goto out;
	}
	/* Read may return less than asked for; loop until the whole file is in
	 * and treat a zero-byte read before that as a truncated file. */
	while (done < fsize) {
		UINTN chunk = (UINTN)fsize - done;

		st = f->Read(f, &chunk, buf + done);
		if (EFI_ERROR(st)) {
			log_error(L"%s: read error at offset %ld: %r", path, (UINT64)done, st);
			goto out;
		}
		if (chunk == 0) {
			log_error(L"%s: file ended after %ld of %ld bytes", path,
				  (UINT64)done, fsize);
			st = EFI_END_OF_FILE;
			goto out;
		}
		done += chunk;
	}
	*data = buf;
	*size = (UINTN)fsize;
	buf = NULL;
out:
	if (buf)
		FreePool(buf);
	f->Close(f);
	return st;
}
