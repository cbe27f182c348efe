#!/usr/bin/env python3
"""Regenerates rules/src/libinjection/data.rs from the reference build.

The tables (SQL keywords with their token types, blacklisted SQLi fingerprints,
and the byte -> tokenizer-routine map) are read out of the libinjection that is
compiled into libmodsecurity 3.0.9 (Debian's libmodsecurity3), so that the Rust
port uses exactly the data ModSecurity runs with.  Needs binutils' `readelf`
and an x86-64 ELF.  The XSS name lists are short and are kept by hand in
xss.rs; this script prints them from the binary so they can be compared.

    python3 tests/libinjection/gen_tables.py [path/to/libmodsecurity.so.3]
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "rules", "src", "libinjection", "data.rs")


class Elf:
    def __init__(self, path):
        self.data = open(path, "rb").read()
        self.rel = {}
        out = subprocess.run(["readelf", "-rW", path], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            p = line.split()
            if len(p) >= 4 and p[2] == "R_X86_64_RELATIVE":
                self.rel[int(p[0], 16)] = int(p[3], 16)
        self.secs = []
        out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
            if m:
                self.secs.append((m.group(1), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16)))

    def off(self, vaddr):
        for _, addr, off, size in self.secs:
            if addr and addr <= vaddr < addr + size:
                return vaddr - addr + off
        raise KeyError(hex(vaddr))

    def cstr(self, vaddr):
        f = self.off(vaddr)
        return self.data[f:self.data.index(b"\0", f)]

    def byte(self, vaddr):
        return self.data[self.off(vaddr)]

    def section(self, name):
        return [s for s in self.secs if s[0] == name][0]


def printable(s):
    return len(s) > 0 and all(32 <= c < 127 for c in s)


def struct_array(elf, anchor, stride, with_type):
    """Walks an array of {const char*, char/enum} (or of char*) around `anchor`."""
    hits = [o for o, a in elf.rel.items() if elf.cstr(a) == anchor] if anchor else []
    if len(hits) != 1:
        raise SystemExit("expected one table entry pointing at %r, found %d" % (anchor, len(hits)))

    def ok(o):
        if o not in elf.rel or not printable(elf.cstr(elf.rel[o])):
            return False
        if with_type == "char":
            return 32 < elf.byte(o + 8) < 127
        if with_type == "enum":
            return 0 < elf.byte(o + 8) < 16
        return True

    start = hits[0]
    while ok(start - stride):
        start -= stride
    out = []
    while ok(start):
        out.append((elf.cstr(elf.rel[start]), elf.byte(start + 8) if with_type else None))
        start += stride
    return out


def char_map(elf):
    """The 256-entry table of parser function pointers, grouped by target."""
    _, taddr, _, tsize = elf.section(".text")
    offs = sorted(o for o, a in elf.rel.items() if taddr <= a < taddr + tsize)
    have = set(offs)
    tables = []
    for o in offs:
        if o - 8 in have:
            continue
        n = 0
        while o + 8 * n in have:
            n += 1
        if n == 256:
            tables.append([elf.rel[o + 8 * i] for i in range(256)])
    if len(tables) != 1:
        raise SystemExit("expected one 256-entry function table, found %d" % len(tables))
    table = tables[0]
    # Name each distinct routine by a byte known to be handled by it.
    names = {
        " ": "White", "%": "Op1", "!": "Op2", "-": "Dash", "'": "Str", "#": "Hash",
        "0": "Num", "/": "Slash", "(": "Char", "@": "Var", "?": "Other", "$": "Money",
        "`": "Tick", "a": "Word", "u": "UString", "q": "QString", "n": "NQString",
        "x": "XString", "b": "BString", "e": "EString", "[": "BWord", "\\": "Backslash",
    }
    label = {}
    for ch, name in names.items():
        addr = table[ord(ch)]
        if addr in label and label[addr] != name:
            raise SystemExit("%r and %r share a routine" % (label[addr], name))
        label[addr] = name
    missing = set(table) - set(label)
    if missing:
        raise SystemExit("unnamed routines in the character map: %s" % [hex(a) for a in missing])
    return [label[a] for a in table]


FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


def fnv1a(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFF
    return h


def hash_slots(keys, size):
    """Open addressing with linear probing; slot -> index into keys (or 0xFFFF)."""
    slots = [0xFFFF] * size
    for i, k in enumerate(keys):
        j = fnv1a(k) & (size - 1)
        while slots[j] != 0xFFFF:
            j = (j + 1) & (size - 1)
        slots[j] = i
    return slots


def pack(fp):
    """A fingerprint (at most 8 bytes, no NUL) as a big-endian u64."""
    assert 0 < len(fp) <= 8 and 0 not in fp
    return int.from_bytes(fp.ljust(8, b"\0"), "big")


def main():
    so = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/x86_64-linux-gnu/libmodsecurity.so.3"
    elf = Elf(so)
    version_hits = re.findall(rb"\x00(3\.\d+\.\d+)\x00", elf.data)
    words = struct_array(elf, b"UNION", 16, "char")
    keywords = sorted((w, chr(t)) for w, t in words if chr(t) != "F")
    fingerprints = sorted(w[1:] for w, t in words if chr(t) == "F")
    assert all(w[:1] == b"0" for w, t in words if chr(t) == "F")
    assert all(w == w.upper() for w, _ in words)
    assert not any(w[:1] == b"0" for w, _ in keywords)
    cmap = char_map(elf)

    lines = []
    w = lines.append
    w("// @generated by tests/libinjection/gen_tables.py from the libinjection built into")
    w("// libmodsecurity 3.0.9 (libinjection version string %s). Do not edit by hand."
      % "/".join(sorted(set(v.decode() for v in version_hits))))
    w("//")
    w("// Data only: SQL words and their token types, the blacklisted fingerprints and")
    w("// the routine the SQL tokenizer uses for each leading byte.")
    w("")
    w("use super::sqli::Scan;")
    w("")
    w("/// Upper-case SQL words (and two-word phrases) with their token type, sorted by bytes.")
    w("#[rustfmt::skip]")
    w("pub(super) static KEYWORDS: [(&[u8], u8); %d] = [" % len(keywords))
    for word, t in keywords:
        w("    (b\"%s\", b'%s')," % (word.decode().replace("\\", "\\\\").replace('"', '\\"'),
                                    t.replace("\\", "\\\\").replace("'", "\\'")))
    w("];")
    w("")
    w("/// Longest entry of `KEYWORDS`; longer words are never keywords.")
    w("pub(super) const KEYWORD_MAX_LEN: usize = %d;" % max(len(k) for k, _ in keywords))
    w("")
    size = 2048
    assert len(keywords) * 2 <= size
    slots = hash_slots([k for k, _ in keywords], size)
    w("/// Hash index into `KEYWORDS`: FNV-1a (32 bit) of the upper-cased word, masked")
    w("/// to the table size, then linear probing; `u16::MAX` marks an empty slot.")
    w("#[rustfmt::skip]")
    w("pub(super) static KEYWORD_SLOTS: [u16; %d] = [" % size)
    for i in range(0, size, 16):
        w("    " + " ".join("%d," % v for v in slots[i:i + 16]))
    w("];")
    w("")
    w("/// Upper-cased token-type fingerprints that count as SQL injection, each packed")
    w("/// big-endian into a u64 (zero padded), sorted.")
    w("#[rustfmt::skip]")
    w("pub(super) static FINGERPRINTS: [u64; %d] = [" % len(fingerprints))
    packed = sorted(pack(fp) for fp in fingerprints)
    for i in range(0, len(packed), 6):
        w("    " + " ".join("0x%016x," % v for v in packed[i:i + 6]))
    w("];")
    w("")
    w("/// Tokenizer routine for each leading byte.")
    w("#[rustfmt::skip]")
    w("pub(super) static SCAN: [Scan; 256] = [")
    for i in range(0, 256, 8):
        w("    " + " ".join("Scan::%s," % n for n in cmap[i:i + 8]) + "  // 0x%02x" % i)
    w("];")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s: %d keywords, %d fingerprints" % (OUT, len(keywords), len(fingerprints)))

    print("XSS black tags:", [t.decode() for t, _ in struct_array(elf, b"VMLFRAME", 8, None)])
    print("XSS black attributes:", [(a.decode(), t) for a, t in struct_array(elf, b"XLINK:HREF", 16, "enum")])


if __name__ == "__main__":
    main()
