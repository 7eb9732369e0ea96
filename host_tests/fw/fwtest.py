# Helpers for the firmware unit tests in this directory. They run unchanged on CPython (driven by
# host_tests/test_fw_units.py) and on the MicroPython unix port (host_tests/fw/run_upy.py), so this
# module uses only what both runtimes have.
import os

try:
    import time

    _now_ns = time.time_ns
except AttributeError:  # pragma: no cover
    def _now_ns():
        return int(time.time() * 1000000000)


def _dirname(path):
    i = path.rfind("/")
    if i < 0:
        return "."
    return path[:i] if i else "/"


# The repository root, from this file's place in it (host_tests/fw/fwtest.py).
ROOT = _dirname(_dirname(_dirname(__file__)))


def raises(exc_type, fn, *args, **kwargs):
    """Call fn(*args, **kwargs); return the exception it raised, which must be an exc_type.

    Any other exception (an IndexError where a CodecError is due, say) fails the test with its repr."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        raise AssertionError("expected %s, got %s: %r" % (exc_type.__name__, type(e).__name__, e))
    raise AssertionError("expected %s, nothing was raised" % exc_type.__name__)


def _base_tmp():
    try:
        import tempfile  # CPython

        return tempfile.gettempdir()
    except ImportError:  # MicroPython: no tempfile module
        return "/tmp"


def make_tmpdir(tag="t"):
    """A new empty directory (no tempfile module on MicroPython: name it by time and a random tail)."""
    path = "%s/wasl-fw-%s-%d-%s" % (_base_tmp(), tag, _now_ns(), "".join("%02x" % b for b in os.urandom(4)))
    os.mkdir(path)
    return path


def _is_dir(path):
    return os.stat(path)[0] & 0o170000 == 0o040000


def rmtree(path):
    """Remove a directory made by make_tmpdir and everything in it."""
    for name in os.listdir(path):
        p = path + "/" + name
        if _is_dir(p):
            rmtree(p)
        else:
            os.remove(p)
    os.rmdir(path)


def read_text(path):
    with open(path) as f:
        return f.read()


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def ticks_ms():
    """A millisecond clock for measuring time-outs on either runtime."""
    try:
        return time.ticks_ms()
    except AttributeError:  # CPython
        return int(time.monotonic() * 1000)


def ms_since(t0):
    try:
        return time.ticks_diff(time.ticks_ms(), t0)
    except AttributeError:  # CPython
        return ticks_ms() - t0


# Shared fixtures for the host message tests.
TRACK2 = "4761739001010010=25122011758928889"


class FakeParams:
    """The parameters the message builders and the receipts read (wasl.Params has them all)."""
    terminal_id = "WASL0001"
    merchant_id = "000000000000001"
    merchant_name = "PHARMACIE EL AMEL"
    merchant_address = ["12 RUE DIDOUCHE MOURAD", "16000 ALGER"]
    currency_code = "012"
    currency_alpha = "DZD"
    currency_exponent = 2
    host_nii = "001"
    amount_max = 50000000
    refund_max = 10000000
    refund_asks_rrn = True
    billers = ["ELEC", "GAZ", "EAU", "NET", "TEL"]
    language = "en"
    tz_offset_min = 60
    receipt_bilingual = False
    receipt_logo = ""


MASKED_PAN = "476173******0010"   # TRACK2's PAN as the journal and the receipts keep it


def txn(ty="sale", s=42, i=7, b=1, a=150000, m="swipe", t="20260705100807", p=MASKED_PAN, **extra):
    """A transaction's journal record ("new", wasl/txn/batch.py), outcome keys (rc, r, au...) in extra."""
    rec = {"e": "new", "s": s, "i": i, "b": b, "ty": ty, "a": a, "p": p, "m": m, "t": t}
    rec.update(extra)
    return rec
