"""ACPI tables for QEMU's -acpitable, built to be wrong on purpose.

QEMU appends -acpitable tables to the XSDT after its own (FACP, APIC, HPET,
MCFG, WAET...).  It always rewrites the header's length and checksum (and
OVMF's table protocol checksums again), so a bad checksum or a lying length
cannot reach the guest this way.  What does reach it unchanged is the body:
the faults here are structural, inside a table the kernel parses.

    bad_madt()            a second MADT whose second entry has length 0 (a
                          parser that trusts it loops forever)
    madt_entry_overrun()  a second MADT whose last entry runs past the table end
"""

import struct

HEADER_LEN = 36


def checksum(data):
    """The byte that makes `data` sum to zero (mod 256)."""
    return (-sum(data)) & 0xFF


def table(signature, body, revision=1, oem_id=b"VIGIL ", oem_table_id=b"HARNESS ",
          oem_revision=1, creator_id=b"VGLH", creator_revision=1, length=None,
          good_checksum=True):
    """A complete ACPI table: the 36-byte header followed by `body`."""
    if isinstance(signature, str):
        signature = signature.encode()
    if len(signature) != 4:
        raise ValueError("an ACPI signature has 4 characters")
    total = HEADER_LEN + len(body) if length is None else length
    hdr = struct.pack("<4sIBB6s8sI4sI", signature, total, revision, 0,
                      oem_id.ljust(6)[:6], oem_table_id.ljust(8)[:8], oem_revision,
                      creator_id.ljust(4)[:4], creator_revision)
    data = bytearray(hdr + body)
    data[9] = checksum(data)
    if not good_checksum:
        data[9] = (data[9] + 1) & 0xFF
    return bytes(data)


def parse_header(data):
    sig, length, rev, csum, oem, oemt, oemrev, cid, crev = struct.unpack_from(
        "<4sIBB6s8sI4sI", data)
    return {"signature": sig.decode("ascii", "replace"), "length": length, "revision": rev,
            "checksum": csum, "oem_id": oem, "oem_table_id": oemt}


def lapic_entry(uid, apic_id, flags=1):
    """MADT Processor Local APIC structure (type 0, 8 bytes); flags bit 0 = enabled."""
    return struct.pack("<BBBBI", 0, 8, uid, apic_id, flags)


def madt(entries, lapic_address=0xFEE00000, flags=1, revision=3):
    body = struct.pack("<II", lapic_address, flags) + b"".join(entries)
    return table("APIC", body, revision=revision)


# Offsets the kernel's message will name (header 36 + LAPIC address 4 + flags 4).
MADT_FIRST_ENTRY = HEADER_LEN + 8


def bad_madt():
    """A duplicate MADT: one good LAPIC entry, then an entry of length 0 at
    offset 0x34.  Expected kernel report: 'acpi: APIC: ... length 0 ...'."""
    zero_len = struct.pack("<BB", 0, 0) + b"\0" * 6
    return madt([lapic_entry(0, 0), zero_len])


def madt_entry_overrun():
    """A duplicate MADT whose last entry claims 16 bytes with 8 left."""
    overrun = struct.pack("<BB", 0, 16) + b"\0" * 6
    return madt([lapic_entry(0, 0), overrun])


GAS_MEMORY = 0
GAS_IO = 1


def spcr(address, space_id=GAS_IO, interface=0, bit_width=8, access_size=1, baud_code=7,
         revision=2):
    """A Serial Port Console Redirection table (Microsoft SPCR spec, revision
    2: 80 bytes) naming a UART: interface type 0 = 16550, the base address as
    a GAS in I/O (default) or memory space, baud code 7 = 115200, 8N1, no
    flow control, VT100, no interrupt, no PCI device."""
    gas = struct.pack("<BBBBQ", space_id, bit_width, 0, access_size, address)
    body = struct.pack("<B3s", interface, b"\0" * 3) + gas
    body += struct.pack("<BBIBBBBBB", 0, 0, 0, baud_code, 0, 1, 0, 0, 0)
    body += struct.pack("<HHBBBIBI", 0xFFFF, 0xFFFF, 0, 0, 0, 0, 0, 0)
    assert HEADER_LEN + len(body) == 80, len(body)
    return table("SPCR", body, revision=revision)
