/* SPDX-License-Identifier: MIT */
/*
 * The kernel command line.
 *
 * Two sources, first non-empty one wins:
 *  1. The image's load options (EFI_LOADED_IMAGE_PROTOCOL.LoadOptions, UEFI
 *     2.10 section 9.1).  The UEFI shell passes the whole command as typed,
 *     image name first ("fs0:\EFI\BOOT\BOOTX64.EFI console=ttyS0"), so a
 *     first word that looks like the image is skipped.  A Boot#### entry
 *     passes its OptionalData, which need not be text at all: anything that
 *     is not printable UCS-2 is ignored with a warning.
 *  2. \vigil\cmdline.txt beside the kernel (ASCII; newlines allowed, so one
 *     parameter per line works).
 * Tabs and line breaks become spaces, runs of blanks collapse to one, and
 * leading and trailing blanks go.
 *
 * A bad command line never stops the boot (a mistyped file on a USB stick
 * must not make the machine unbootable): one that does not fit
 * boot_info.cmdline is cut after its last whole word that fits (a parameter
 * cut in half would be worse than none), and a file holding a byte that is
 * not printable ASCII (NUL, UTF-8, a binary) is dropped whole.  Either way
 * the loader says so on the firmware console and leaves a note in
 * boot_info.cmdline_note, which the kernel prints in its log.
 */
#include "loader.h"

#define CMDLINE_FILE_MAX (64U * 1024U)
#define CMDLINE_ECHO_MAX 160U   /* characters of it the loader shows */

static BOOLEAN is_blank(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static BOOLEAN is_text(unsigned c)
{
	return is_blank(c) || (c >= 0x20 && c <= 0x7e);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Copy in[0..n) to out normalised (see the top of the file).  Returns the
 * length the result needs; out holds a NUL-terminated prefix when it is
 * longer than cap - 1. */
static UINTN normalize(const char *in, UINTN n, char *out, UINTN cap)
{
	BOOLEAN pending_space = FALSE;
	UINTN len = 0, i;

	for (i = 0; i < n; i++) {
		if (is_blank((unsigned char)in[i])) {
			pending_space = len > 0;
			continue;
		}
		if (pending_space) {
			if (len + 1 < cap)
				out[len] = ' ';
			len++;
			pending_space = FALSE;
		}
		if (len + 1 < cap)
			out[len] = in[i];
		len++;
	}
	out[len < cap ? len : cap - 1] = '\0';
	return len;
}

/* A note for the kernel (boot_info.cmdline_note), ASCII. */
static void note_set(char *note, const char *a, UINT64 x, const char *b, UINT64 y, const char *c)
{
	UINTN len = 0;
	const char *parts[3] = {a, b, c};
	UINT64 nums[2] = {x, y};
	UINTN p;

	for (p = 0; p < 3; p++) {
		const char *s = parts[p];
		while (s && *s && len + 1 < CMDLINE_NOTE_MAX)
			note[len++] = *s++;
		if (p < 2 && s) {
			char digits[24];
			UINTN nd = 0;
			UINT64 v = nums[p];
			do {
				digits[nd++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			while (nd && len + 1 < CMDLINE_NOTE_MAX)
				note[len++] = digits[--nd];
		}
	}
	note[len] = '\0';
}

static EFI_STATUS store(const char *src, const char *in, UINTN n, char out[BOOT_CMDLINE_MAX], char *note)
{
	char *tmp = AllocatePool(n + 1);
	UINTN len, cut;

	if (!tmp)
		return EFI_OUT_OF_RESOURCES;
	len = normalize(in, n, tmp, n + 1);
	if (len >= BOOT_CMDLINE_MAX) {
		/* tmp[BOOT_CMDLINE_MAX - 1] exists: keep the words before the
		 * last blank at or below it. */
		cut = BOOT_CMDLINE_MAX - 1;
		while (cut > 0 && tmp[cut] != ' ')
			cut--;
		tmp[cut] = '\0';
		log_warn(L"command line from %a is %ld characters; the limit is %d: "
			 L"CUT to its first %ld characters (whole words)", src, (UINT64)len,
			 BOOT_CMDLINE_MAX - 1, (UINT64)cut);
		note_set(note, "the loader CUT the command line to its first ", cut,
			 " characters (whole words): it had ", len, " (the limit is 1023)");
		len = cut;
	}
	CopyMem(out, tmp, len + 1);
	if (len > CMDLINE_ECHO_MAX) {
		/* A line of a thousand characters wraps and scrolls the firmware's
		 * text console into a mess; the kernel logs it again anyway. */
		CopyMem(tmp, out, CMDLINE_ECHO_MAX);
		tmp[CMDLINE_ECHO_MAX] = '\0';
		log_info(L"command line (%a, %ld characters): %a ...", src, (UINT64)len, tmp);
	} else if (len) {
		log_info(L"command line (%a): %a", src, out);
	}
	FreePool(tmp);
	return EFI_SUCCESS;
}

/* Case-insensitive: does word[0..n) equal s, or end with it? */
static BOOLEAN word_is(const char *word, UINTN n, const char *s, BOOLEAN suffix)
{
	UINTN len = strlena((const CHAR8 *)s), i;

	if (n < len || (!suffix && n != len))
		return FALSE;
	for (i = 0; i < len; i++)
		if (lower(word[n - len + i]) != lower(s[i]))
			return FALSE;
	return TRUE;
}

/* The loader's own file name without directory and ".efi", in ASCII, from
 * the device path it was loaded from (e.g. "\EFI\BOOT\BOOTX64.EFI"). */
static void image_stem(EFI_LOADED_IMAGE *loaded, char *stem, UINTN cap)
{
	CHAR16 *path = loaded->FilePath ? DevicePathToStr(loaded->FilePath) : NULL;
	UINTN start = 0, len = 0, i;

	stem[0] = '\0';
	if (!path)
		return;
	for (i = 0; path[i]; i++)
		if (path[i] == L'\\' || path[i] == L'/')
			start = i + 1;
	for (i = start; path[i] && len + 1 < cap; i++)
		stem[len++] = path[i] < 0x80 ? (char)path[i] : '?';
	stem[len] = '\0';
	if (word_is(stem, len, ".efi", TRUE))
		stem[len - 4] = '\0';
	FreePool(path);
}

/* Length of the leading image name to skip in s[0..n), or 0. */
static UINTN image_word(EFI_LOADED_IMAGE *loaded, const char *s, UINTN n)
{
	UINTN start = 0, end, wl, i;
	const char *w;
	char stem[64];
	BOOLEAN quoted;

	while (start < n && is_blank((unsigned char)s[start]))
		start++;
	quoted = start < n && s[start] == '"';
	end = start + quoted;
	while (end < n && (quoted ? s[end] != '"' : !is_blank((unsigned char)s[end])))
		end++;
	w = s + start + quoted;
	wl = end - start - quoted;
	if (wl == 0)
		return 0;
	if (quoted && end < n)
		end++; /* the closing quote */

	for (i = 0; i < wl; i++) {
		if (w[i] == '=')
			return 0; /* a parameter, not a path */
		if (w[i] == '\\')
			return end;
	}
	if (word_is(w, wl, ".efi", TRUE))
		return end;
	image_stem(loaded, stem, sizeof(stem));
	if (stem[0] && word_is(w, wl, stem, FALSE))
		return end;
	return 0;
}

/* Returns EFI_SUCCESS with out[0] == 0 when the options hold no command line. */
static EFI_STATUS from_load_options(EFI_LOADED_IMAGE *loaded, char out[BOOT_CMDLINE_MAX], char *note)
{
	const CHAR16 *opt = loaded->LoadOptions;
	UINTN n = loaded->LoadOptionsSize / sizeof(CHAR16), len, i, skip;
	EFI_STATUS st;
	char *ascii;

	out[0] = '\0';
	if (!opt || n == 0)
		return EFI_SUCCESS;
	for (len = 0; len < n && opt[len]; len++) {
		if (!is_text(opt[len])) {
			log_warn(L"load options are not a text command line (character 0x%x "
				 L"at %ld); ignoring them", (UINT32)opt[len], (UINT64)len);
			return EFI_SUCCESS;
		}
	}
	ascii = AllocatePool(len + 1);
	if (!ascii)
		return EFI_OUT_OF_RESOURCES;
	for (i = 0; i < len; i++)
		ascii[i] = (char)opt[i];
	skip = image_word(loaded, ascii, len);
	st = store("load options", ascii + skip, len - skip, out, note);
	FreePool(ascii);
	return st;
}

static EFI_STATUS from_file(EFI_FILE_HANDLE root, char out[BOOT_CMDLINE_MAX], char *note)
{
	UINTN size = 0, start = 0, i;
	void *data = NULL;
	const UINT8 *b;
	EFI_STATUS st;

	out[0] = '\0';
	st = file_read_all(root, CMDLINE_PATH, CMDLINE_FILE_MAX, &data, &size);
	if (st == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(st))
		return st;
	b = data;
	/* Editors on some systems start a UTF-8 file with a byte-order mark. */
	if (size >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)
		start = 3;
	for (i = start; i < size; i++) {
		if (!is_text(b[i])) {
			log_warn(L"%s: byte 0x%x at offset %ld is not printable ASCII: "
				 L"command line DROPPED, booting without one", CMDLINE_PATH, (UINT32)b[i], (UINT64)i);
			note_set(note, "the loader DROPPED the command line: byte value ", b[i],
				 " at offset ", i, " of \\vigil\\cmdline.txt is not printable ASCII");
			FreePool(data);
			return EFI_SUCCESS;
		}
	}
	st = store("\\vigil\\cmdline.txt", (const char *)b + start, size - start, out, note);
	FreePool(data);
	return st;
}

EFI_STATUS cmdline_get(EFI_LOADED_IMAGE *loaded, EFI_FILE_HANDLE root,
		       char out[BOOT_CMDLINE_MAX], char note[CMDLINE_NOTE_MAX])
{
	EFI_STATUS st;

	note[0] = '\0';
	st = from_load_options(loaded, out, note);
	if (EFI_ERROR(st) || out[0])
		return st;
	st = from_file(root, out, note);
	if (!EFI_ERROR(st) && !out[0])
		log_info(L"command line: (empty)");
	return st;
}
