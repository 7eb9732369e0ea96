"""Build a pyiso8583 spec from the field table in docs/host-interface.md.

The host-interface document is the contract; the acquirer simulator and the tests decode what the
terminal sends with a spec built here from that document, not from the firmware's own tables.

    from tools.hostspec import load
    hs = load()                # HostSpec
    hs.spec                    # dict for iso8583.decode / iso8583.encode
    hs.presence["0200"]["2"]   # 'C'
    hs.check_formats(decoded)  # list of format violations (n must be digits, ...)
"""
import os
import re

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "host-interface.md")

_BEGIN = "<!-- hostspec:begin"
_END = "<!-- hostspec:end -->"
_LEN_TYPES = {"fixed": 0, "LLVAR": 2, "LLLVAR": 3}
_FORMAT_RE = {
    "n": re.compile(r"^[0-9]*$"),
    "an": re.compile(r"^[A-Za-z0-9 ]*$"),
    "ans": re.compile(r"^[\x20-\x7e]*$"),
    "z": re.compile(r"^[0-9=]*$"),
}


class HostSpec:
    def __init__(self, spec, formats, presence, names):
        self.spec = spec          # pyiso8583 spec
        self.formats = formats    # field -> 'n' | 'an' | 'ans' | 'z' | 'b'
        self.presence = presence  # MTI -> field -> 'M' | 'C' | 'E' | '-'
        self.names = names        # field -> name

    def check_formats(self, decoded):
        """Return a list of violations of the documented formats in a pyiso8583-decoded dict."""
        bad = []
        for field, value in decoded.items():
            if field in ("h", "p", "1", "bm") or not isinstance(value, str):
                continue
            key = field
            fmt = self.formats.get(key)
            rx = _FORMAT_RE.get(fmt)
            if rx is not None and not rx.match(value):
                bad.append("field %s (%s) is not %s: %r" % (field, self.names.get(key, "?"), fmt, value))
            fs = self.spec.get(key)
            if fs and fs["len_type"] == 0 and fmt != "b" and len(value) != fs["max_len"]:
                bad.append("field %s length %d, fixed %d" % (field, len(value), fs["max_len"]))
        return bad

    def check_presence(self, mti, decoded, request=None):
        """Violations of the M/C/E/- columns for one decoded message of type mti.

        `request` (decoded) lets 'E' fields be checked as echoes of the request."""
        bad = []
        cols = self.presence.get(mti)
        if cols is None:
            return ["MTI %s is not in the document" % mti]
        present = {k for k in decoded if k not in ("h", "t", "p", "1", "bm")}
        for field, rule in cols.items():
            if field in ("t", "p", "1"):
                continue
            if rule == "M" and field not in present:
                bad.append("%s: mandatory field %s (%s) missing" % (mti, field, self.names[field]))
            if rule == "-" and field in present:
                bad.append("%s: field %s (%s) must be absent" % (mti, field, self.names[field]))
            if rule == "E" and request is not None and field in present and request.get(field) != decoded[field]:
                bad.append("%s: field %s not echoed" % (mti, field))
        for field in present:
            if field not in cols:
                bad.append("%s: field %s is not in the document" % (mti, field))
        return bad


def _rows(text):
    try:
        body = text.split(_BEGIN, 1)[1].split(_END, 1)[0]
    except IndexError:
        raise ValueError("host-interface.md has no hostspec table markers")
    lines = [ln.strip() for ln in body.splitlines() if ln.strip().startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) != len(header):
            raise ValueError("bad table row: %s" % ln)
        yield dict(zip(header, cells)), header


def load(path=DOC):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    spec = {"h": {"data_enc": "ascii", "len_enc": "ascii", "len_type": 0, "max_len": 0, "desc": "Header"}}
    formats, names, presence = {}, {}, {}
    for row, header in _rows(text):
        mtis = [h for h in header if re.match(r"^\d{4}$", h)]
        field = {"MTI": "t", "bitmap": "p"}.get(row["Field"], row["Field"])
        if field not in ("t", "p") and not (field.isdigit() and 1 <= int(field) <= 128):
            raise ValueError("bad field number %r" % row["Field"])
        binary = row["Encoding"] == "binary"
        spec[field] = {
            "data_enc": "b" if binary else "ascii",
            "len_enc": "ascii",
            "len_type": _LEN_TYPES[row["Length type"]],
            "max_len": int(row["Max"]),
            "desc": row["Name"],
        }
        formats[field] = row["Format"]
        names[field] = row["Name"]
        for m in mtis:
            presence.setdefault(m, {})[field] = row[m]
    return HostSpec(spec, formats, presence, names)
