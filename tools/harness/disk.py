"""The USB stick image (BUILD/vigil.img, mk/image.mk): find its EFI System
Partition in the GPT and make per-run copies with another command line.

The GPT layout (UEFI 2.10 section 5.3): LBA 0 a protective MBR, LBA 1 the
header ("EFI PART", header size, CRC32 of the header with its CRC field
zeroed, the LBA of the partition entry array, the number and size of the
entries, CRC32 of the array), then the entries (type GUID, unique GUID, first
and last LBA inclusive, attributes, UTF-16LE name).  The harness checks both
CRCs, so an image whose table a tool wrote wrongly fails here instead of in
the firmware.
"""

import os
import shutil
import struct
import subprocess
import uuid
import zlib

SECTOR = 512
# The EFI System Partition type GUID (UEFI 2.10 table 5-9).
ESP_TYPE = uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")


class DiskError(Exception):
    pass


class Partition:
    def __init__(self, index, type_guid, first_lba, last_lba, name):
        self.index = index
        self.type_guid = type_guid
        self.first_lba = first_lba
        self.last_lba = last_lba
        self.name = name

    @property
    def offset(self):
        return self.first_lba * SECTOR

    @property
    def size(self):
        return (self.last_lba - self.first_lba + 1) * SECTOR

    def __repr__(self):
        return "<Partition %d %s %d-%d %r>" % (self.index, self.type_guid, self.first_lba,
                                               self.last_lba, self.name)


def read_gpt(path):
    """The partitions of the GPT disk image at `path` (non-empty entries)."""
    with open(path, "rb") as f:
        f.seek(SECTOR)
        hdr = f.read(92)
        if len(hdr) < 92 or hdr[:8] != b"EFI PART":
            raise DiskError("%s: no GPT header at LBA 1" % path)
        hsize, hcrc = struct.unpack_from("<II", hdr, 12)
        if hsize < 92 or hsize > SECTOR:
            raise DiskError("%s: GPT header size %d" % (path, hsize))
        f.seek(SECTOR)
        whole = bytearray(f.read(hsize))
        whole[16:20] = b"\0\0\0\0"
        if zlib.crc32(bytes(whole)) != hcrc:
            raise DiskError("%s: GPT header CRC mismatch" % path)
        entries_lba, count, esize, acrc = struct.unpack_from("<QIII", hdr, 72)
        if esize < 128 or count > 1024:
            raise DiskError("%s: GPT entry size %d, count %d" % (path, esize, count))
        f.seek(entries_lba * SECTOR)
        array = f.read(count * esize)
    if len(array) != count * esize or zlib.crc32(array) != acrc:
        raise DiskError("%s: GPT partition entry array CRC mismatch" % path)
    parts = []
    for i in range(count):
        e = array[i * esize:(i + 1) * esize]
        type_guid = uuid.UUID(bytes_le=e[0:16])
        if type_guid.int == 0:
            continue
        first, last = struct.unpack_from("<QQ", e, 32)
        name = e[56:128].decode("utf-16-le", "replace").rstrip("\0")
        parts.append(Partition(i + 1, type_guid, first, last, name))
    return parts


def find_esp(path):
    """The image's EFI System Partition, or DiskError."""
    esps = [p for p in read_gpt(path) if p.type_guid == ESP_TYPE]
    if not esps:
        raise DiskError("%s: no EFI System Partition in the GPT" % path)
    return esps[0]


def sparse_copy(src, dst, block=1 << 20):
    """Copy a disk image, leaving holes where the source has zeros (the image
    is mostly empty FAT space)."""
    zero = bytes(block)
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while True:
            chunk = fi.read(block)
            if not chunk:
                break
            if chunk == zero[:len(chunk)]:
                fo.seek(len(chunk), os.SEEK_CUR)
            else:
                fo.write(chunk)
        fo.truncate()


def write_esp_file(image, esp, rel_path, data):
    """Replace `rel_path` ("vigil/cmdline.txt") on the image's ESP with
    `data`, through mtools at the partition's offset (no mount, no root)."""
    if shutil.which("mcopy") is None:
        raise DiskError("mcopy not found (apt-get install mtools)")
    tmp = image + ".file"
    with open(tmp, "wb") as f:
        f.write(data)
    try:
        r = subprocess.run(["mcopy", "-o", "-i", "%s@@%d" % (image, esp.offset), tmp,
                            "::/" + rel_path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    finally:
        os.unlink(tmp)
    if r.returncode != 0:
        raise DiskError("mcopy into %s failed: %s" % (image, r.stdout.decode(errors="replace")))


def read_esp_file(image, esp, rel_path):
    """The bytes of `rel_path` on the image's ESP (mtools)."""
    r = subprocess.run(["mtype", "-i", "%s@@%d" % (image, esp.offset), "::/" + rel_path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    if r.returncode != 0:
        raise DiskError("mtype %s: %s" % (rel_path, r.stderr.decode(errors="replace").strip()))
    return r.stdout


def prepare_image(src, dst, cmdline):
    """A per-run copy of the stick image; cmdline not None rewrites
    vigil/cmdline.txt on its ESP (no trailing newline), as a user would by
    mounting the stick and editing the file."""
    if not os.path.isfile(src):
        raise DiskError("%s not found: run 'make image'" % src)
    esp = find_esp(src)
    sparse_copy(src, dst)
    if cmdline is not None:
        write_esp_file(dst, esp, "vigil/cmdline.txt", cmdline.encode())
    return esp
