#!/usr/bin/env python3
"""Differential test of rules/src/libinjection against the C libinjection.

References (both C, called through ctypes):
  modsec : the libinjection compiled into libmodsecurity 3.0.9 (what CRS runs on)
  pypi   : the one built by the PyPI package libinjection-python
The Rust side is driven through the small binary in this folder (src/main.rs):
  --impl ours   rules/src/libinjection (default)
  --impl rs     the crates.io port libinjectionrs 0.1.1 (built with --features rs)

Corpus: (a) payloads of the CRS regression tests (query/body arguments split and
URL-decoded the way ARGS sees them, CRS's transformation chains of 942100/941100
applied on top, plus raw forms of bodies, URIs and headers), (b) a generated,
seeded corpus: SQL-ish token soups, HTML/JS-ish soups, random bytes (NULs and
invalid UTF-8 included) and mutations of (a).

Compared per input: the SQLi verdict, the fingerprint when SQLi was found, the
fingerprint of the last context tried even when not (a stricter check on the
tokenizer and folding) and the XSS verdict.  Exits non-zero on any disagreement.

  python3 tests/libinjection/difftest.py [--impl ours|rs] [--generated N] [--seed S]
"""

import argparse
import ctypes
import glob
import os
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CRS_TESTS = os.path.join(REPO, "..", "shared", "crs", "v4.28.0", "tests", "regression", "tests")

MODSEC_SO = "/usr/lib/x86_64-linux-gnu/libmodsecurity.so.3"


def pypi_so():
    try:
        import libinjection  # noqa: F401  (the PyPI package builds the C code)
    except ImportError:
        return None
    return libinjection.__file__


class CLib:
    """ctypes view of one compiled libinjection."""

    STATE_SIZE = 1 << 14  # far larger than struct libinjection_sqli_state

    def __init__(self, name, path):
        self.name = name
        lib = ctypes.CDLL(path)
        lib.libinjection_version.restype = ctypes.c_char_p
        self.version = lib.libinjection_version().decode()
        lib.libinjection_sqli_init.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
        lib.libinjection_sqli_init.restype = None
        lib.libinjection_is_sqli.argtypes = [ctypes.c_void_p]
        lib.libinjection_is_sqli.restype = ctypes.c_int
        lib.libinjection_sqli_fingerprint.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.libinjection_sqli_fingerprint.restype = ctypes.c_void_p
        lib.libinjection_sqli.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
        lib.libinjection_sqli.restype = ctypes.c_int
        lib.libinjection_xss.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        lib.libinjection_xss.restype = ctypes.c_int
        self.lib = lib
        self.state = ctypes.create_string_buffer(self.STATE_SIZE)
        base = ctypes.addressof(self.state)
        # Where the fingerprint lives inside the state: sqli_fingerprint returns it.
        probe = b"1 union select"
        lib.libinjection_sqli_init(base, probe, len(probe), 0)
        self.fp_off = lib.libinjection_sqli_fingerprint(base, 0) - base
        assert 0 < self.fp_off < self.STATE_SIZE - 8
        self.fpbuf = ctypes.create_string_buffer(16)

    def run(self, data):
        lib, base = self.lib, ctypes.addressof(self.state)
        lib.libinjection_sqli_init(base, data, len(data), 0)
        hit = lib.libinjection_is_sqli(base)
        last = ctypes.string_at(base + self.fp_off, 8).split(b"\0", 1)[0].decode("latin-1")
        # ModSecurity's @detectSQLi calls libinjection_sqli(); it must agree.
        hit2 = lib.libinjection_sqli(data, len(data), self.fpbuf)
        fp = self.fpbuf.value.decode("latin-1")
        assert bool(hit) == bool(hit2) and (not hit or fp == last), (self.name, data)
        xss = lib.libinjection_xss(data, len(data))
        return (fp if hit else "-", last, "1" if xss else "0")


# ---------------------------------------------------------------- CRS corpus

HEX = b"0123456789abcdefABCDEF"


def url_decode(b, plus=True):
    """ModSecurity-style URL decoding: bad escapes are kept as they are."""
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x25 and i + 2 < len(b) and b[i + 1] in HEX and b[i + 2] in HEX:
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
            continue
        out.append(0x20 if (plus and c == 0x2B) else c)
        i += 1
    return bytes(out)


def utf8_to_unicode(b):
    """t:utf8toUnicode: multi-byte UTF-8 sequences become %uHHHH."""
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        n = 2 if 0xC0 <= c < 0xE0 else 3 if 0xE0 <= c < 0xF0 else 4 if 0xF0 <= c < 0xF8 else 0
        if n and i + n <= len(b):
            try:
                cp = ord(b[i:i + n].decode("utf-8"))
                out += b"%%u%04x" % (cp & 0xFFFF)
                i += n
                continue
            except UnicodeDecodeError:
                pass
        out.append(c)
        i += 1
    return bytes(out)


def url_decode_uni(b):
    """t:urlDecodeUni without a unicode map (%uHHHH keeps the low byte)."""
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x25 and b[i + 1:i + 2] in (b"u", b"U") and len(b) >= i + 6 and all(x in HEX for x in b[i + 2:i + 6]):
            cp = int(b[i + 2:i + 6], 16)
            if 0xFF01 <= cp <= 0xFF5E:
                out.append((cp - 0xFEE0) & 0xFF)
            else:
                out.append(cp & 0xFF)
            i += 6
            continue
        if c == 0x25 and len(b) >= i + 3 and b[i + 1] in HEX and b[i + 2] in HEX:
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
            continue
        out.append(0x20 if c == 0x2B else c)
        i += 1
    return bytes(out)


def html_entity_decode(b):
    import html
    return html.unescape(b.decode("latin-1")).encode("latin-1", "replace")


def js_decode(b):
    out = bytearray()
    i = 0
    simple = {ord("n"): 10, ord("t"): 9, ord("r"): 13, ord("b"): 8, ord("f"): 12, ord("v"): 11, ord("0"): 0}
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            d = b[i + 1]
            if d in (0x78, 0x58) and i + 3 < len(b) and b[i + 2] in HEX and b[i + 3] in HEX:
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            if d in (0x75, 0x55) and i + 5 < len(b) and all(x in HEX for x in b[i + 2:i + 6]):
                out.append(int(b[i + 2:i + 6], 16) & 0xFF)
                i += 6
                continue
            out.append(simple.get(d, d))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def css_decode(b):
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            j = i + 1
            while j < len(b) and j < i + 7 and b[j] in HEX:
                j += 1
            if j > i + 1:
                out.append(int(b[i + 1:j], 16) & 0xFF)
                if j < len(b) and b[j] == 0x20:
                    j += 1
                i = j
                continue
            if b[i + 1] != 0x0A:
                out.append(b[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def t942(v):
    return url_decode_uni(utf8_to_unicode(v)).replace(b"\0", b"")


def t941(v):
    v = url_decode_uni(utf8_to_unicode(v))
    return css_decode(js_decode(html_entity_decode(v))).replace(b"\0", b"")


def split_args(s, sep=b"&"):
    """(name, value) pairs as ARGS sees them in a query string or urlencoded body."""
    for part in s.split(sep):
        if not part:
            continue
        name, eq, value = part.partition(b"=")
        yield url_decode(name), url_decode(value)


def crs_inputs():
    """Yields (origin, kind, bytes) for every CRS regression payload form."""
    import yaml

    files = sorted(glob.glob(os.path.join(CRS_TESTS, "**", "*.yaml"), recursive=True))
    for path in files:
        with open(path, "rb") as f:
            doc = yaml.safe_load(f)
        if not isinstance(doc, dict):
            continue
        rule = doc.get("rule_id")
        for test in doc.get("tests") or []:
            origin = "%s-%s" % (rule, test.get("test_id"))
            for stage in test.get("stages") or []:
                inp = stage.get("input") or {}
                forms = []
                data = inp.get("data")
                if isinstance(data, str):
                    raw = data.encode("utf-8", "surrogateescape")
                    forms.append(("raw", raw))
                    forms += [("raw", line) for line in raw.split(b"\n") if line != raw]
                    for name, value in split_args(raw):
                        forms += [("arg", value), ("name", name)]
                uri = inp.get("uri")
                if isinstance(uri, str):
                    raw = uri.encode("utf-8", "surrogateescape")
                    forms += [("raw", raw), ("raw", url_decode(raw, plus=False))]
                    if b"?" in raw:
                        query = raw.split(b"?", 1)[1]
                        forms.append(("raw", query))
                        for name, value in split_args(query):
                            forms += [("arg", value), ("name", name)]
                for hname, hval in (inp.get("headers") or {}).items():
                    hv = str(hval).encode("utf-8", "surrogateescape")
                    forms.append(("header", hv))
                    if str(hname).lower() == "cookie":
                        for name, value in split_args(hv, b";"):
                            forms += [("arg", value.strip()), ("name", name.strip())]
                for kind, v in forms:
                    yield origin, kind, v
                    if kind in ("arg", "name", "header"):
                        yield origin, "t942", t942(v)
                        yield origin, "t941", t941(v)


# ---------------------------------------------------------- generated corpus

SQL_WORDS = """select union all from where or and not xor like in is null between order by group
having limit offset insert into values update set delete drop table exec execute declare waitfor
delay sleep benchmark case when then else end if char concat version user database @@version
information_schema sysobjects load_file outfile procedure analyse collate binary div mod sounds
regexp rlike cross join left outer natural inner top distinct as on using cast convert ascii
substring mid ord hex unhex pg_sleep dbms_pipe.receive_message utl_inaddr.get_host_name xp_cmdshell
sp_password shutdown truncate true false current_user localtime sql_calc_found_rows create alter
grant revoke begin commit rollback go print char( nchar varchar(8000) count(*) sum( min( max(
avg( group_concat( extractvalue( updatexml( floor(rand(0)*2) @@datadir @var @@global.x $x
utc_time sysdate() now() information_schema.tables table_name column_name mysql.user pg_user
all_tables dual rownum nvl( decode( to_char( chr( || <=> :: := sounds_like like_ escape
isnull ifnull nullif coalesce( greatest( least( if( iif( elt( field( make_set( lpad( rpad(
""".split()
SQL_OPS = ["=", "<>", "!=", "<", ">", "<=", ">=", "<=>", "||", "&&", "|", "&", "^", "~", "!", "+",
           "-", "*", "/", "%", "::", ":=", "<<", ">>", ",", ";", "(", ")", ".", ":", "@", "@@", "$",
           "\\", "{", "}", "[", "]", "?", "`", "!<", "!>", "=*", "*="]
SQL_QUOTED = ["'", '"', "`", "'abc'", '"abc"', "`x`", "'a\\'b'", "'a''b'", "N'x'", "X'4142'",
              "x'zz'", "b'01'", "E'x'", "q'[x]'", "Q'{x}'", "n'", "$$x$$", "$q$y$q$", "[col]",
              "'1'='1", "\"1\"=\"1", "'--", "'#", "'/*", "\\'", '\\"', "''", '""', "'''", "u&'x'"]
SQL_COMMENTS = ["--", "-- ", "--x", "---", "#", "# x", "/**/", "/*x*/", "/*!", "/*!50000", "/*!*/",
                "/*! union*/", "/*", "*/", "--\n", "#\n", "/*x", "-- -", "--+", ";--", "';--"]
SQL_NUMS = ["1", "0", "-1", "1.5", ".5", "1e3", "1E-3", "0x1F", "0xZZ", "0b101", "0b2", "1.", "123abc",
            "1e", "1.e5", "0x", "99999999999999999999", "1.2.3", "1d", "1f", ".e1", "-.5", "+1", "00"]
SQL_IDENTS = ["a", "id", "users", "x1", "_abc", "t.c", "a.b.c", "admin", "1a", "a1b2", "\xe9t\xe9",
              "dbo", "sys", "v$version", "x$", "tbl_", "foo.bar", "sa", "password", "name"]
WS = [" ", " ", " ", "", "\t", "\n", "\r", "\x0b", "\x0c", "\xa0", "\x00", "+", "/**/", "  "]
SQL_PREFIX = ["", "", "1", "1'", "'", '"', "x' ", "1 ", "-1", "a", "')", "'))", "1)", "\")", "admin'"]


def gen_sql(rng):
    n = rng.randint(1, 12)
    parts = [rng.choice(SQL_PREFIX)]
    for _ in range(n):
        r = rng.random()
        if r < 0.34:
            w = rng.choice(SQL_WORDS)
            m = rng.random()
            w = w.upper() if m < 0.3 else w.title() if m < 0.4 else w
        elif r < 0.52:
            w = rng.choice(SQL_OPS)
        elif r < 0.66:
            w = rng.choice(SQL_QUOTED)
        elif r < 0.76:
            w = rng.choice(SQL_COMMENTS)
        elif r < 0.88:
            w = rng.choice(SQL_NUMS)
        else:
            w = rng.choice(SQL_IDENTS)
        parts.append(w)
        parts.append(rng.choice(WS))
    s = "".join(parts)
    if rng.random() < 0.1:  # long inputs exercise the token limits
        s = s * rng.randint(2, 6)
    return s.encode("latin-1")


HTML_TAGS = ["script", "img", "svg", "iframe", "a", "body", "style", "object", "embed", "form",
             "input", "video", "audio", "source", "link", "meta", "base", "frameset", "frame",
             "math", "xss", "div", "p", "applet", "marquee", "details", "isindex", "xml", "vmlframe",
             "image", "table", "td", "bgsound", "SCRIPT", "ScRiPt", "sVg", "IMG", "iMg", "x", "b"]
HTML_ATTRS = ["src", "href", "onerror", "onload", "onclick", "onmouseover", "style", "formaction",
              "xmlns", "data", "action", "background", "dynsrc", "lowsrc", "xlink:href", "values",
              "from", "to", "by", "attributename", "srcdoc", "id", "class", "title", "alt", "name",
              "ONERROR", "OnLoad", "oNfocus", "onbegin", "ontoggle", "autofocus", "folder", "poster",
              "codebase", "on", "o\x00nload", "srcset", "type", "value", "x"]
HTML_VALUES = ["x", "1", "alert(1)", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:x",
               "java\x00script:x", " javascript:x", "vbscript:msgbox", "data:text/html,<script>",
               "data:image/png", "http://a.b/c.js", "#", "expression(alert(1))", "livescript:x",
               "&#106;avascript:x", "javascript&colon;x", "&#x6A;", "url(javascript:x)", "`x`",
               "prompt`1`", "confirm(1)", "\\u0061lert(1)", "''", "\"\"", "javas&#99;ript:",
               "x:y", "/x", "jav&#x0A;ascript:", "  ", "\x01javascript:x"]
HTML_TEXT = ["hello", "a < b", "1 > 0", "&amp;", "&lt;script&gt;", "<!-- x -->", "<!--", "-->",
             "<!DOCTYPE html>", "<?xml version=\"1.0\"?>", "<![CDATA[x]]>", "</", "<", ">", "/>",
             "<>", "</>", "<!", "<?", "<%", "%>", "`", "'", "\"", "=", "/", " ", "\x00", "\n",
             "<\x00script>", "< script>", "<scr<script>ipt>", "<!x>", "<!--->", "<!---->",
             "<a/href=", "<%00", "<//", "</script", "</x>", "--!>", "<!--x--!>"]


def gen_html(rng):
    out = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if r < 0.55:
            tag = rng.choice(HTML_TAGS)
            s = "<" + rng.choice(["", "", "", "/", " ", "\x00", "!"]) + tag
            for _ in range(rng.randint(0, 3)):
                s += rng.choice([" ", "/", "\t", "\n", "  ", "\x0c", ""])
                s += rng.choice(HTML_ATTRS)
                if rng.random() < 0.85:
                    s += rng.choice(["=", " = ", "=", "\x00="])
                    q = rng.choice(["", "'", '"', "`", ""])
                    s += q + rng.choice(HTML_VALUES) + (q if rng.random() < 0.85 else "")
            s += rng.choice([">", ">", "/>", "", " >", "//>", "\x00>"])
        else:
            s = rng.choice(HTML_TEXT)
        out.append(s)
    return "".join(out).encode("latin-1")


SQL_EDGE = ["{", "}", "{``", "{ x", "\\%1", "\\1", "\\N", "\\", "collate utf8_bin", "COLLATE latin1",
            "$", "$$", "$1,000.00", "$.", "$a", "$ab$", "$ab$x$ab$", "$ab$x$ba$", "$q$$q$", "$\x00",
            "q'(x)'", "q'[x]'", "Q'<x>'", "q'\xe9x\xe9'", "q' x '", "nq'!x!'", "N'x'", "n'", "u&'x'",
            "U&'x", "b'01'", "B'012'", "x'AF'", "X'AG'", "0x\x00\x001", "0b\x001", "0X", "0b", "1.e",
            "10.10E", "1e+", "1fUNION", "1dunion", "1.2f;", "1F", "@@`version`", "@'x'", '@"x"', "@",
            "@@", "`", "``", "`x", "`union`", "`concat`", ":=", "<=>", "::int", "!!", "NOT", "~", "1 ,-1",
            ", -sin(1)", "select . `x`", "user(x)", "user()", "IN (", "not in x", "LIKE(", "; if 1=1",
            "IF(", "'a'||'b'", "INTO OUTFILE", "into dumpfile", "a" * 40, "1" * 40, "'" + "x" * 40 + "'",
            "select.1", "union`x`", "/*/", "/**/", "/*!", "/*!*/", "/* /* */", "--", "-- x", "#", "#x",
            "sp_password", "1--", "1 --", "1/*", "1-x--", "1234-ABC--", "\x00", "\xa0", "\xff"]


def gen_sql_edge(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        pool = rng.choice([SQL_EDGE, SQL_EDGE, SQL_WORDS, SQL_OPS, SQL_QUOTED, SQL_NUMS])
        parts.append(rng.choice(pool))
        parts.append(rng.choice(WS))
    return "".join(parts).encode("latin-1")


URL_SCHEMES = ["javascript:", "JaVaScRiPt:", "vbscript:", "data:", "view-source:", "java", "jav", "javax",
               "livescript:", "http:", "x"]


def encode_url_char(rng, c):
    r = rng.random()
    if r < 0.55:
        return c
    if r < 0.65:
        return "&#%d;" % ord(c)
    if r < 0.72:
        return "&#%d" % ord(c)
    if r < 0.8:
        return "&#x%x;" % ord(c)
    if r < 0.85:
        return "&#X%X" % ord(c)
    if r < 0.88:
        return "&#x%x;" % (ord(c) + 0x100)
    if r < 0.91:
        return "&#000%d;" % ord(c)
    if r < 0.94:
        return c + rng.choice(["\x00", "\n", "\t", "&#10;", "&#0;"])
    if r < 0.97:
        return "&#x10000%x;" % ord(c)
    return rng.choice(["&", "&#", "&#x", "&#;", "&#x;", "&amp;"]) + c


def gen_url(rng):
    scheme = rng.choice(URL_SCHEMES)
    lead = rng.choice(["", "", " ", "\x01", "\x00", "\x7f", "\xa0", "\xff", "&#32;", "&#9;", "\t\n"])
    value = lead + "".join(encode_url_char(rng, c) for c in scheme) + rng.choice(["alert(1)", "", "x", "&#"])
    if rng.random() < 0.15:
        value = value[:rng.randint(0, len(value))]
    attr = rng.choice(["href", "src", "action", "formaction", "style", "attributename", "values", "xlink:href",
                       "background", "folder", "dynsrc", "by", "to", "from", "lowsrc", "poster", "filter",
                       "datasrc", "x", "on", "onx", "xmlns:y", "HrEf", "s\x00rc"])
    q = rng.choice(["", "'", '"', "`"])
    form = rng.random()
    if form < 0.5:
        s = "<a %s=%s%s%s>" % (attr, q, value, q if rng.random() < 0.8 else "")
    elif form < 0.75:
        s = "%s=%s%s" % (attr, q, value)
    else:
        s = value
    return s.encode("latin-1", "replace")


SPECIAL = b"'\"`;-#/*()=<>!|&^%+,.:@$\\[]{}?~ \t\n\r\x00\x0b\x0c\xa0\xff"


def gen_bytes(rng):
    n = rng.randint(0, 64)
    if rng.random() < 0.5:
        return bytes(rng.randrange(256) for _ in range(n))
    alpha = SPECIAL + b"aAeEsSxXuUnN0123456789"
    return bytes(rng.choice(alpha) for _ in range(n))


def mutate(rng, b):
    b = bytearray(b)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randint(0, len(b))
        if op < 0.35 and b:
            del b[min(pos, len(b) - 1)]
        elif op < 0.7:
            b[pos:pos] = bytes([rng.choice(SPECIAL + b"a1")])
        elif op < 0.85 and b:
            b = b[:pos]
        elif b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
    return bytes(b)


def generated(rng, total, seeds):
    mix = [(gen_sql, 0.32), (gen_sql_edge, 0.13), (gen_html, 0.17), (gen_url, 0.10), (gen_bytes, 0.12),
           (None, 0.16)]
    out = []
    for kind, share in mix:
        for _ in range(int(total * share)):
            if kind is None:
                out.append(("mut", mutate(rng, rng.choice(seeds))))
            else:
                out.append((kind.__name__[4:], kind(rng)))
    # Some long inputs: glued pieces of the above.
    for _ in range(total // 100):
        out.append(("long", b"".join(rng.choice(out)[1] for _ in range(rng.randint(5, 40)))))
    return out


# ------------------------------------------------- CRS 942100 / 941100 tests

def rule_values(inp, with_referer):
    """Values that 942100 (with_referer) / 941100 inspect, before transformations:
    ARGS, ARGS_NAMES, cookies and their names, User-Agent (and Referer), XML text
    and attribute values."""
    import xml.etree.ElementTree as ET

    vals = []
    uri = (inp.get("uri") or "").encode("utf-8", "surrogateescape")
    if b"?" in uri:
        for name, value in split_args(uri.split(b"?", 1)[1]):
            vals += [name, value]
    headers = {str(k).lower(): str(v) for k, v in (inp.get("headers") or {}).items()}
    data = inp.get("data")
    if isinstance(data, str):
        raw = data.encode("utf-8", "surrogateescape")
        if "xml" in headers.get("content-type", ""):
            try:
                root = ET.fromstring(raw)
                for el in root.iter():
                    vals += [(el.text or "").encode()] + [v.encode() for v in el.attrib.values()]
            except ET.ParseError:
                pass
        else:
            for name, value in split_args(raw):
                vals += [name, value]
    for name, value in split_args(headers.get("cookie", "").encode(), b";"):
        vals += [name.strip(), value.strip()]
    vals.append(headers.get("user-agent", "").encode("utf-8", "surrogateescape"))
    if with_referer:
        vals.append(headers.get("referer", "").encode("utf-8", "surrogateescape"))
    return [v for v in vals if v]


def crs_rule_check(impl, modsec):
    """Runs the payloads of the CRS regression tests for 942100 and 941100
    through the rule's transformations and both detectors; returns failures."""
    import yaml

    cases = []
    for rule, sub, transform, col in ((942100, "REQUEST-942-APPLICATION-ATTACK-SQLI", t942, 0),
                                      (941100, "REQUEST-941-APPLICATION-ATTACK-XSS", t941, 2)):
        with open(os.path.join(CRS_TESTS, sub, "%d.yaml" % rule), "rb") as f:
            doc = yaml.safe_load(f)
        for test in doc["tests"]:
            for stage in test["stages"]:
                out = stage["output"]["log"]
                expect = rule in (out.get("expect_ids") or [])
                values = [transform(v) for v in rule_values(stage["input"], rule == 942100)]
                cases.append(("%d-%s" % (rule, test["test_id"]), col, expect, values))
    flat = [v for _, _, _, values in cases for v in values]
    got = rust_results(impl, flat)
    ref = [modsec.run(v) for v in flat]
    failures = i = 0
    for name, col, expect, values in cases:
        n = len(values)
        hit = lambda res: any((r[0] != "-") if col == 0 else (r[2] == "1") for r in res)
        ours, theirs = hit(got[i:i + n]), hit(ref[i:i + n])
        i += n
        ok = ours == expect
        failures += not ok
        print("  %-10s expect %-5s ours %-5s C %-5s %s" % (name, expect, ours, theirs, "ok" if ok else "FAIL"))
    print("CRS 942100/941100 regression payloads: %d of %d as expected" % (len(cases) - failures, len(cases)))
    return failures


# -------------------------------------------------------------------- running

def rust_results(impl, inputs):
    manifest = os.path.join(HERE, "Cargo.toml")
    cmd = ["cargo", "build", "--release", "--quiet", "--manifest-path", manifest]
    if impl == "rs":
        cmd += ["--features", "rs"]
    subprocess.run(cmd, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "target"))
    exe = os.path.join(target, "release", "libinjection-diff")
    payload = b"".join(struct.pack("<I", len(b)) + b for b in inputs)
    res = subprocess.run([exe, "--impl", impl], input=payload, stdout=subprocess.PIPE, check=True)
    lines = res.stdout.decode("latin-1").split("\n")[:-1]
    assert len(lines) == len(inputs), (len(lines), len(inputs))
    return [tuple(line.split("\t")) for line in lines]


def compare(name, refs, got, inputs, labels, show):
    counts = {"sqli verdict": 0, "sqli fingerprint": 0, "last fingerprint": 0, "xss verdict": 0}
    shown = 0
    for (rs, rl, rx), (gs, gl, gx), data, label in zip(refs, got, inputs, labels):
        bad = []
        if (rs == "-") != (gs == "-"):
            counts["sqli verdict"] += 1
            bad.append("sqli %s vs %s" % (rs, gs))
        elif rs != gs:
            counts["sqli fingerprint"] += 1
            bad.append("fp %s vs %s" % (rs, gs))
        if rl != gl and gl != "?":
            counts["last fingerprint"] += 1
            if not bad:
                bad.append("last fp %s vs %s" % (rl, gl))
        if rx != gx:
            counts["xss verdict"] += 1
            bad.append("xss %s vs %s" % (rx, gx))
        if bad and shown < show:
            shown += 1
            print("  [%s] %r: %s" % (label, data[:120], "; ".join(bad)))
    total = sum(1 for r, g in zip(refs, got) if r[0] != g[0] or r[2] != g[2] or (r[1] != g[1] and g[1] != "?"))
    print("%s: %d inputs differ; %s" % (name, total, ", ".join("%s %d" % kv for kv in counts.items())))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", default="ours", choices=["ours", "rs", "none"])
    ap.add_argument("--generated", type=int, default=150000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--show", type=int, default=25)
    ap.add_argument("--crs-only", action="store_true")
    ap.add_argument("--crs-rules", action="store_true", help="only check the 942100/941100 regression payloads")
    args = ap.parse_args()

    refs = [CLib("modsec", MODSEC_SO)]
    p = pypi_so()
    if p:
        refs.append(CLib("pypi", p))
    for r in refs:
        print("reference %s: libinjection %s (%s)" % (r.name, r.version, r.lib._name))
    if args.crs_rules:
        sys.exit(1 if crs_rule_check("ours" if args.impl == "none" else args.impl, refs[0]) else 0)

    crs = {}
    for origin, kind, v in crs_inputs():
        crs.setdefault(v, "crs:%s:%s" % (origin, kind))
    crs_list = list(crs.items())
    rng = random.Random(args.seed)
    gen = [] if args.crs_only else generated(rng, args.generated, [v for v, _ in crs_list] or [b"x"])
    inputs = [v for v, _ in crs_list] + [v for _, v in gen]
    labels = [l for _, l in crs_list] + ["gen:" + k for k, _ in gen]
    n_crs = len(crs_list)
    print("corpus: %d CRS-derived unique inputs + %d generated = %d" % (n_crs, len(gen), len(inputs)))
    kinds = {}
    for k, _ in gen:
        kinds[k] = kinds.get(k, 0) + 1
    print("generated by kind: %s" % kinds)

    base = [refs[0].run(v) for v in inputs]
    det = sum(1 for r in base if r[0] != "-"), sum(1 for r in base if r[2] == "1")
    print("modsec reference: %d SQLi, %d XSS detections" % det)
    failed = 0
    for other in refs[1:]:
        res = [other.run(v) for v in inputs]
        # The two C builds differ (see README); reported, not a failure.
        compare("%s vs modsec" % other.name, base, res, inputs, labels, min(args.show, 5))
    if args.impl != "none":
        got = rust_results(args.impl, inputs)
        print("-- CRS-derived part (%d):" % n_crs)
        compare(args.impl + " vs modsec", base[:n_crs], got[:n_crs], inputs[:n_crs], labels[:n_crs], args.show)
        print("-- generated part (%d):" % (len(inputs) - n_crs))
        compare(args.impl + " vs modsec", base[n_crs:], got[n_crs:], inputs[n_crs:], labels[n_crs:], args.show)
        print("-- all:")
        failed += compare(args.impl + " vs modsec", base, got, inputs, labels, 0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
