# The terminal's parameter document (params.json on the board's storage), checked field by field.
# A missing or malformed parameter stops the terminal at boot with a message naming the parameter.
import binascii
import json


class ParamError(ValueError):
    """`param` names the offending parameter (or the file) for the out-of-service screen."""

    def __init__(self, param, message):
        super().__init__(message)
        self.param = param


def _get(doc, path, kind, default=None, required=True):
    cur = doc
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            if required:
                raise ParamError(path, "missing parameter: " + path)
            return default
        cur = cur[part]
    if kind is int and (not isinstance(cur, int) or isinstance(cur, bool)):
        raise ParamError(path, "parameter %s must be a whole number" % path)
    if kind in (bool, list, dict) and not isinstance(cur, kind):
        raise ParamError(path, "parameter %s must be %s" % (
            path, "true or false" if kind is bool else "a list" if kind is list else "an object"))
    if kind is str and not isinstance(cur, str):
        raise ParamError(path, "parameter %s must be text" % path)
    return cur


def _ascii_in(s, lo, hi):
    """Every character of s between lo and hi (CPython's isdigit() / isalpha() take other scripts too)."""
    for c in s:
        if c < lo or c > hi:
            return False
    return True


def _letters(s):
    for c in s:
        if not ("A" <= c <= "Z" or "a" <= c <= "z"):
            return False
    return True


def _digits(doc, path, n):
    v = _get(doc, path, str)
    if len(v) != n or not _ascii_in(v, "0", "9"):
        raise ParamError(path, "parameter %s must be %d digits" % (path, n))
    return v


def _whole(doc, path, lo, hi, default=None, required=True):
    """An integer parameter within lo..hi (time-outs: the tick arithmetic of a port has a range)."""
    v = _get(doc, path, int, default, required)
    if not lo <= v <= hi:
        raise ParamError(path, "parameter %s must be %d to %d" % (path, lo, hi))
    return v


def _printable(doc, path, maxlen, exact=False):
    v = _get(doc, path, str)
    if not v or len(v) > maxlen or (exact and len(v) != maxlen):
        raise ParamError(path, "parameter %s must be %s %d characters"
                         % (path, "exactly" if exact else "1 to", maxlen))
    for c in v:
        if c < " " or c > "~":
            raise ParamError(path, "parameter %s must be plain ASCII" % path)
    return v


def check(p, doc):
    """Fill `p` (a wasl.Params) from the document, checking every field. Attribute names follow
    the JSON paths."""
    if not isinstance(doc, dict):
        raise ParamError("params.json", "parameter file is not a JSON object")
    p.version = _get(doc, "version", int)
    p.terminal_id = _printable(doc, "terminal_id", 8, exact=True)
    p.merchant_id = _printable(doc, "merchant_id", 15, exact=True)
    p.merchant_name = _printable(doc, "merchant_name", 32)
    p.merchant_address = _get(doc, "merchant_address", list, [], required=False)
    if len(p.merchant_address) > 3:
        raise ParamError("merchant_address", "parameter merchant_address must be a list of up to 3 lines")
    for line in p.merchant_address:
        if not isinstance(line, str) or len(line) > 32 or any(c < " " or c == "\x7f" for c in line):
            raise ParamError("merchant_address", "merchant_address lines must be text of up to 32 characters"
                             " without control characters")    # they go to the printer as they are
    p.currency_code = _digits(doc, "currency.code", 3)
    p.currency_alpha = _printable(doc, "currency.alpha", 3, exact=True)
    p.currency_exponent = _whole(doc, "currency.exponent", 0, 4)     # ISO 4217 minor units
    p.amount_max = _get(doc, "amount_max", int)
    if not 0 < p.amount_max < 10 ** 12:
        raise ParamError("amount_max", "parameter amount_max must be between 1 and 999999999999")
    p.refund_max = _get(doc, "refund_max", int, p.amount_max, required=False)
    if not 0 < p.refund_max < 10 ** 12:
        raise ParamError("refund_max", "parameter refund_max must be between 1 and 999999999999")
    p.refund_asks_rrn = _get(doc, "refund_asks_rrn", bool, True, required=False)
    pin = _get(doc, "supervisor_pin_sha256", str)
    if len(pin) != 64 or any(c not in "0123456789abcdef" for c in pin):
        raise ParamError("supervisor_pin_sha256", "supervisor_pin_sha256 must be 64 lowercase hex digits")
    p.supervisor_pin_sha256 = pin
    p.billers = _get(doc, "billers", list, ["ELEC", "GAZ", "EAU", "NET", "TEL"], required=False)
    if not p.billers or len(p.billers) > 9 or any(
            not isinstance(b, str) or not 1 <= len(b) <= 8 or not _letters(b) for b in p.billers):
        raise ParamError("billers", "billers must be 1 to 9 codes of 1 to 8 letters")
    p.language = _get(doc, "language", str, "fr", required=False)
    from wasl.ui.strings import LANGUAGES

    if p.language not in LANGUAGES:
        raise ParamError("language", "parameter language must be one of " + ", ".join(LANGUAGES))
    # receipts: {"bilingual": true} prints every label in French and in Arabic; {"logo": "logo.pbm"} a
    # PBM image (a file next to params.json, checked by load) above the header (docs/printer.md)
    receipt = _get(doc, "receipt", dict, {}, required=False)
    for k in receipt:
        if k not in ("bilingual", "logo"):
            raise ParamError("receipt." + k, "unknown parameter receipt.%s (receipt takes: bilingual, logo)" % k)
    p.receipt_bilingual = _get(doc, "receipt.bilingual", bool, False, required=False)
    logo = _get(doc, "receipt.logo", str, "", required=False)
    if logo and (len(logo) > 32 or logo[0] == "." or not all(
            "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9" or c in "._-" for c in logo)):
        raise ParamError("receipt.logo", "parameter receipt.logo must be a file name next to params.json "
                                         "(up to 32 letters, digits, '.', '_', '-')")
    p.receipt_logo = logo
    p.tz_offset_min = _whole(doc, "tz_offset_min", -720, 840, 60, required=False)   # UTC-12:00 .. UTC+14:00
    p.keys_required = _get(doc, "keys_required", bool, True, required=False)
    p.fallback = _get(doc, "fallback", bool, True, required=False)
    p.manual_entry = _get(doc, "manual_entry", bool, False, required=False)
    # store and forward (docs/journal.md): swiped sales up to floor_limit are approved by the terminal
    # and sent later as advices (0220); 0 turns it off. The queue's caps bound what the merchant risks.
    p.offline_floor = _get(doc, "offline.floor_limit", int, 0, required=False)
    if not 0 <= p.offline_floor <= p.amount_max:
        raise ParamError("offline.floor_limit", "parameter offline.floor_limit must be 0 to amount_max")
    p.offline_max_count = _get(doc, "offline.max_count", int, 10, required=False)
    if not 1 <= p.offline_max_count <= 99:
        raise ParamError("offline.max_count", "parameter offline.max_count must be 1 to 99")
    p.offline_max_amount = _get(doc, "offline.max_amount", int, 10 * p.offline_floor, required=False)
    if not 0 <= p.offline_max_amount < 10 ** 12:
        raise ParamError("offline.max_amount", "parameter offline.max_amount must be 0 to 999999999999")
    p.advice_retry_s = _get(doc, "offline.retry_s", int, 300, required=False)
    if not 10 <= p.advice_retry_s <= 86400:
        raise ParamError("offline.retry_s", "parameter offline.retry_s must be 10 to 86400 seconds")

    p.idle_timeout_s = _whole(doc, "timeouts.entry_s", 1, 3600, 60, required=False)
    p.card_timeout_s = _whole(doc, "timeouts.card_s", 1, 3600, 60, required=False)
    p.result_timeout_s = _whole(doc, "timeouts.result_s", 1, 3600, 30, required=False)
    p.host_address = _printable(doc, "host.address", 64)
    p.host_port = _get(doc, "host.port", int)
    if not 0 < p.host_port < 65536:
        raise ParamError("host.port", "parameter host.port must be 1 to 65535")
    p.host_server_name = _printable(doc, "host.server_name", 64)
    p.host_nii = _digits(doc, "host.nii", 3)
    p.host_connect_timeout_s = _whole(doc, "host.connect_timeout_s", 1, 3600, 15, required=False)
    p.host_reply_timeout_s = _whole(doc, "host.reply_timeout_s", 1, 3600, 30, required=False)
    # a second acquirer address, tried when the first cannot be connected to (never after a request
    # may have reached it: docs/host-interface.md); the same certificate name and CA
    p.host_address2 = _get(doc, "host.address2", str, "", required=False)
    if p.host_address2:
        p.host_address2 = _printable(doc, "host.address2", 64)
    p.host_port2 = _whole(doc, "host.port2", 1, 65535, p.host_port, required=False)
    _net(p, doc)
    ca = _get(doc, "host.ca", str)
    try:
        p.host_ca = binascii.a2b_base64(ca)
    except ValueError:
        raise ParamError("host.ca", "parameter host.ca is not base64")
    if len(p.host_ca) < 64 or p.host_ca[0] != 0x30:
        raise ParamError("host.ca", "parameter host.ca is not a DER certificate")
    # terminal management (docs/tms.md): optional; only the interval stays in RAM, wasl.tms reads the
    # rest from the file when it calls
    p.tms_interval_s = 0
    if _get(doc, "tms", dict, None, required=False) is not None:
        _printable(doc, "tms.address", 64)
        port = _get(doc, "tms.port", int)
        if not 0 < port < 65536:
            raise ParamError("tms.port", "parameter tms.port must be 1 to 65535")
        _printable(doc, "tms.server_name", 64)
        try:
            ca = binascii.a2b_base64(_get(doc, "tms.ca", str))
        except ValueError:
            raise ParamError("tms.ca", "parameter tms.ca is not base64")
        if len(ca) < 64 or ca[0] != 0x30:
            raise ParamError("tms.ca", "parameter tms.ca is not a DER certificate")
        ca = None
        _whole(doc, "tms.timeout_s", 1, 600, 30, required=False)
        p.tms_interval_s = 60 * _whole(doc, "tms.interval_min", 1, 44640, 1440, required=False)


def _net(p, doc):
    """The network links (wasl.net.Links, docs/modem.md section 7), as one tuple p.net (one attribute, not
    nine: the parameters stay resident): (prefer, Wi-Fi SSID, Wi-Fi key, APN, Wi-Fi connect time-out s,
    check period s, retry period s, NTP host, NTP port). No SSID: no Wi-Fi; no APN: no GSM."""
    prefer = _get(doc, "net.prefer", str, "wifi", required=False)
    if prefer not in ("wifi", "gsm"):
        raise ParamError("net.prefer", "parameter net.prefer must be wifi or gsm")
    ssid = _get(doc, "net.wifi_ssid", str, "", required=False)
    if ssid:
        ssid = _printable(doc, "net.wifi_ssid", 32)
    key = _get(doc, "net.wifi_key", str, "", required=False)
    if len(key) > 64:
        raise ParamError("net.wifi_key", "parameter net.wifi_key must be up to 64 characters")
    apn = _get(doc, "net.apn", str, "", required=False)
    if apn:
        apn = _printable(doc, "net.apn", 63)
        if '"' in apn:
            raise ParamError("net.apn", "parameter net.apn must not contain a quote")
    ntp = _get(doc, "net.ntp_host", str, "", required=False)
    if ntp:
        ntp = _printable(doc, "net.ntp_host", 64)
    p.net = (prefer, ssid, key, apn, _whole(doc, "net.wifi_timeout_s", 1, 120, 10, required=False),
             _whole(doc, "net.check_s", 1, 3600, 5, required=False),
             _whole(doc, "net.retry_s", 1, 86400, 60, required=False),
             ntp, _whole(doc, "net.ntp_port", 1, 65535, 123, required=False))


def load(root):
    path = (root + "/" if root else "") + "params.json"
    try:
        f = open(path)
    except OSError:
        raise ParamError("params.json", "no parameter file " + path)
    try:
        doc = json.load(f)
    except ValueError:
        raise ParamError("params.json", "parameter file is not valid JSON")
    except (MemoryError, RuntimeError):     # nested too deep (CPython: RecursionError) or too big for RAM
        raise ParamError("params.json", "parameter file is too large or nested too deep")
    finally:
        f.close()
    p = parse(doc)
    if p.receipt_logo:
        p.receipt_logo = _logo((root + "/" if root else "") + p.receipt_logo)
    return p


_BLANK = (0x20, 0x09, 0x0D, 0x0A)


def _logo(path):
    """The path of a receipt logo that will print: a PBM P4 file (binary netpbm, as
    wasl.drivers.escpos_raster.Raster.logo reads it) at most 384 dots wide (58 mm paper) and 240 high,
    with all its rows."""
    name = path.rsplit("/", 1)[-1]
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            size = f.seek(0, 2)
    except OSError:
        raise ParamError("receipt.logo", "receipt logo %s not found next to params.json" % name)
    words = []
    i = 0
    while len(words) < 3 and i < len(head):        # "P4", width, height; "#" comments to end of line
        c = head[i]
        if c == 0x23:
            while i < len(head) and head[i] != 0x0A:
                i += 1
        elif c not in _BLANK:
            j = i
            while j < len(head) and head[j] not in _BLANK and head[j] != 0x23:
                j += 1
            words.append(head[i:j])
            i = j
            continue
        i += 1
    try:
        ok = len(words) == 3 and words[0] == b"P4"
        w, h = (int(words[1]), int(words[2])) if ok else (0, 0)
    except ValueError:
        ok = False
    if not ok:
        raise ParamError("receipt.logo", "receipt logo %s is not a PBM P4 image" % name)
    if not (0 < w <= 384 and 0 < h <= 240):
        raise ParamError("receipt.logo", "receipt logo %s is %dx%d dots: at most 384 wide, 240 high" % (name, w, h))
    if size - (i + 1) < (w + 7) // 8 * h:          # one whitespace byte after the height, then the rows
        raise ParamError("receipt.logo", "receipt logo %s is cut short" % name)
    return path


def parse(doc):
    """A checked wasl.Params from a decoded document."""
    from wasl import Params

    p = Params()
    check(p, doc)
    return p
