"""Technician diagnostics: run the terminal's self-tests over USB with mpremote, print a PASS/FAIL table,
save the report signed by the terminal (docs/diagnostics.md).

    python -m tools.diag --port /dev/ttyUSB0 [--parts storage,clock,...] [--wait 30] [--json report.json]
    python -m tools.diag verify report.json --kbpk-file kbpk.hex      # support, with the KIF's records
    python -m tools.diag verify report.json --diag-key-file diag.hex  # or with the derived key only

The terminal runs wasl.diag.run (firmware/wasl/diag/) from its REPL, which `mpremote exec` reaches after a
soft reset (the application stopped). It prints one JSON report and an HMAC-SHA256 of its exact text under
a key derived from the terminal's KBPK: CMAC(KBPK, 01 "WASL diagnostics report"). The report names the
terminal ID and the KBPK's check value; whoever holds that KBPK (the key injection facility) can check
the report came from a terminal holding it and was not changed since, and that it answers this run's
random nonce. Exit status: 0 every part passed or was skipped, 1 a part failed (or, for verify, the report
does not verify), 2 the terminal could not be asked, 3 a production terminal refused (no or a wrong
technician credential, or locked out).

    python -m tools.diag --port P --kbpk-file kbpk.hex ...             # a terminal in production mode
    python -m tools.diag mode production|developer --port P [--kbpk-file F]
"""
import argparse
import datetime
import hmac
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
REPORT = "WASL-DIAG-REPORT "
SIGNATURE = "WASL-DIAG-SIGNATURE "
FILE_FORMAT = "wasl-diag-file/1"
REPORT_LABEL = b"\x01WASL diagnostics report"     # firmware/wasl/diag/sign.py REPORT
TECHNICIAN_LABEL = b"\x01WASL technician access"  # firmware/wasl/diag/sign.py TECHNICIAN
INTERACTIVE = ("keypad", "card")


class DiagError(Exception):
    pass


class Refused(DiagError):
    """The terminal is in production mode and did not open its REPL."""


# ---- the production lock (firmware/wasl/diag/gate.py) ---------------------------------------------

def _serial(port):
    import serial

    return serial.Serial(port, 115200, timeout=0.05, exclusive=True)


def _read_until(ser, marks, timeout):
    """Bytes read until one of marks appears (or the time is up)."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got += ser.read(256)
        if any(m in got for m in marks):
            # what follows the mark on its line
            end = time.monotonic() + 0.2
            while not got.endswith(b"\n") and time.monotonic() < end:
                got += ser.read(256)
            break
    return got


def probe(port, wait=0.5):
    """What the terminal says to a Ctrl-C: a REPL prompt, or its production lock's challenge."""
    with _serial(port) as ser:
        ser.write(b"\r\x03")
        return _read_until(ser, (b">>> ", b"WASL-CHALLENGE", b"WASL-LOCKED-OUT", b"raw REPL"), wait)


def _line_of(data, mark):
    k = data.rfind(mark)
    return data[k:].split(b"\r")[0].split(b"\n")[0].decode("ascii", "replace") if k >= 0 else None


def unlock(port, tech_key, timeout=5):
    """Answer the lock's challenge with the technician key; the REPL is open when this returns.
    Refused with the terminal's words otherwise."""
    with _serial(port) as ser:
        ser.write(b"\r")
        got = _read_until(ser, (b"WASL-CHALLENGE", b"WASL-LOCKED-OUT", b"no technician access"), timeout)
        line = _line_of(got, b"WASL-CHALLENGE")
        if line is None:
            raise Refused(_line_of(got, b"WASL-LOCKED") or "no challenge from the terminal")
        challenge = bytes.fromhex(line.split()[-1])
        mac = hmac.new(tech_key, b"WASL-UNLOCK " + challenge, "sha256").hexdigest().upper()
        ser.write(("WASL-UNLOCK %s\r" % mac).encode())
        got = _read_until(ser, (b"WASL-UNLOCKED", b"WASL-DENIED", b"WASL-LOCKED-OUT"), timeout)
        if b"WASL-UNLOCKED" not in got:
            raise Refused(_line_of(got, b"WASL-DENIED") or _line_of(got, b"WASL-LOCKED-OUT") or "no answer")
        if b">>> " not in got:
            _read_until(ser, (b">>> ",), timeout)
    return line.split()[1:3]     # terminal ID, KBPK KCV


def relock(port, timeout=5):
    """End an unlocked session: a soft reset (Ctrl-D at the prompt) boots the terminal into its lock."""
    with _serial(port) as ser:
        ser.write(b"\r\x02")          # out of the raw REPL, if mpremote left it there
        _read_until(ser, (b">>> ",), 1)
        ser.write(b"\x04")
        got = _read_until(ser, (b"WASL-LOCKED",), timeout)
    return b"WASL-LOCKED" in got


def technician_key(args):
    if getattr(args, "tech_key_file", None):
        return _read_key(args.tech_key_file, "technician key")
    if getattr(args, "kbpk_file", None):
        from tools.hostcrypto import aes_cmac

        return aes_cmac(_read_key(args.kbpk_file, "KBPK"), TECHNICIAN_LABEL)
    return None


def open_session(port, args, out):
    """(reset, locked): unlock a production terminal when a credential was given. Raises Refused."""
    said = probe(port)
    if b"WASL-" not in said:
        return True, False
    key = technician_key(args)
    if key is None:
        line = _line_of(said, b"WASL-CHALLENGE")
        raise Refused("terminal %s is in production mode: a technician credential is needed "
                      "(--tech-key-file, or --kbpk-file)" % (line.split()[1] if line else "?")
                      if line else _line_of(said, b"WASL-") or "locked")
    tid, kcv = unlock(port, key)
    out.write("Unlocked terminal %s (KBPK KCV %s) for this session\n" % (tid, kcv))
    return False, True


# ---- running it on the terminal ---------------------------------------------------------------------

def remote_code(parts, nonce, wait_s):
    return "from wasl.diag.run import main\nmain(%r, %r, %d)\n" % (parts or None, nonce, wait_s)


def run_remote(port, parts=None, wait_s=30, nonce=None, mpremote=MPREMOTE, reset=True, progress=None,
               timeout=None):
    """Run the self-tests through mpremote; return (report text, signature object or None, nonce).
    progress(line) gets each line the terminal prints meanwhile."""
    nonce = nonce or os.urandom(16).hex()
    cmd = [mpremote, "connect", port]
    if not reset:
        cmd.append("resume")     # an unlocked production terminal: a soft reset would lock it again
    cmd += ["exec", remote_code(parts, nonce, wait_s)]
    if timeout is None:
        asked = parts.split(",") if parts else INTERACTIVE
        timeout = 120 + wait_s * sum(1 for p in asked if p.strip() in INTERACTIVE)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    expired = []

    def expire():
        expired.append(1)
        proc.kill()
    timer = threading.Timer(timeout, expire)
    timer.start()
    text = sig = None
    sig_seen = False
    try:
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith(REPORT):
                text = line[len(REPORT):]
            elif line.startswith(SIGNATURE):
                sig = json.loads(line[len(SIGNATURE):])
                sig_seen = True
            elif progress and line:
                progress(line)
        proc.wait()
    finally:
        timer.cancel()
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        proc.stdout.close()
        proc.stderr.close()
    if expired:
        raise DiagError("the terminal did not finish within %d s" % timeout)
    if text is None or not sig_seen:
        raise DiagError("no report from the terminal (mpremote exit %s): %s"
                        % (proc.returncode, err[-800:] or "no output"))
    return text, sig, nonce


def saved_document(text, sig, port):
    return {"format": FILE_FORMAT, "report": json.loads(text), "signed_text": text, "signature": sig,
            "received": {"at": utc_now(), "port": port, "tool": "tools.diag"}}


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_drift(report):
    """Terminal clock minus this computer's, in seconds (None when the report has no time)."""
    t = report.get("time")
    if not t:
        return None
    try:
        dev = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return int((dev - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def table(report, sig, out):
    r = report
    drift = clock_drift(r)
    out.write("Terminal %s   board %s   firmware %s\n" % (r.get("terminal_id"), r.get("board"), r.get("firmware")))
    if r.get("time"):
        out.write("Terminal clock %s (%+d s from this computer)\n" % (r["time"], drift or 0))
    if r.get("board_error"):
        out.write("Board could not be built: %s\n" % r["board_error"])
    parts = r.get("parts", [])
    w = max([len(p["part"]) for p in parts] + [8])
    out.write("%-*s  %-7s  %s\n" % (w, "PART", "RESULT", "DETAIL"))
    for p in parts:
        out.write("%-*s  %-7s  %s\n" % (w, p["part"], p["verdict"], p.get("detail", "")))
    s = r.get("summary", {})
    out.write("%d parts: %d PASS, %d FAIL, %d SKIPPED\n" % (len(parts), s.get("PASS", 0), s.get("FAIL", 0),
                                                             s.get("SKIPPED", 0)))
    if sig:
        out.write("Signed by the terminal: %s under the diagnostics key of KBPK KCV %s\n" % (sig["alg"], sig["kbpk_kcv"]))
    else:
        out.write("NOT SIGNED: the terminal has no KBPK (support cannot verify this report)\n")


# ---- verification (support) -------------------------------------------------------------------------

def diag_key_from_kbpk(kbpk):
    from tools.hostcrypto import aes_cmac

    return aes_cmac(kbpk, REPORT_LABEL)


def kcv(kbpk):
    from tools.hostcrypto import aes_kcv

    return aes_kcv(kbpk).hex().upper()


def verify(doc, kbpk=None, diag_key=None):
    """(True, facts) or (False, reason). doc: a saved report document."""
    if doc.get("format") != FILE_FORMAT:
        return False, "not a Wasl diagnostics report file"
    sig = doc.get("signature")
    text = doc.get("signed_text")
    if not sig or not isinstance(text, str):
        return False, "the report is not signed"
    if sig.get("alg") != "HMAC-SHA256":
        return False, "unknown signature algorithm %r" % sig.get("alg")
    if kbpk is not None:
        if len(kbpk) not in (16, 32):
            return False, "the KBPK is not an AES-128 or AES-256 key"
        if kcv(kbpk) != sig.get("kbpk_kcv"):
            return False, "signed under KBPK KCV %s; the key given has KCV %s" % (sig.get("kbpk_kcv"), kcv(kbpk))
        diag_key = diag_key_from_kbpk(kbpk)
    if diag_key is None:
        return False, "no key to verify with"
    mac = hmac.new(diag_key, text.encode("utf-8"), "sha256").hexdigest().upper()
    if not hmac.compare_digest(mac, str(sig.get("mac", "")).upper()):
        return False, "signature does not match: the report was changed, or signed under another key"
    try:
        signed = json.loads(text)
    except ValueError:
        return False, "signed text is not JSON"
    if doc.get("report") != signed:
        return False, "the readable copy of the report differs from the signed text"
    if signed.get("kbpk_kcv") != sig.get("kbpk_kcv"):
        return False, "KBPK KCV in the report and in the signature differ"
    return True, {"terminal_id": signed.get("terminal_id"), "kbpk_kcv": signed.get("kbpk_kcv"),
                  "time": signed.get("time"), "nonce": signed.get("nonce"), "summary": signed.get("summary")}


def _read_key(path, what):
    from tools.hostcrypto import read_hex_file

    try:
        return read_hex_file(path, what)
    except Exception as e:      # KeyFileError: says which file and why, never the key
        raise DiagError(str(e))


def main_verify(argv, out=sys.stdout):
    ap = argparse.ArgumentParser(prog="python -m tools.diag verify")
    ap.add_argument("report")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--kbpk-file", help="the terminal's KBPK, hex ('-': stdin)")
    g.add_argument("--diag-key-file", help="the terminal's diagnostics key CMAC(KBPK, 01 'WASL diagnostics report'), hex")
    a = ap.parse_args(argv)
    try:
        with open(a.report) as f:
            doc = json.load(f)
        kbpk = _read_key(a.kbpk_file, "KBPK") if a.kbpk_file else None
        dk = _read_key(a.diag_key_file, "diagnostics key") if a.diag_key_file else None
    except (OSError, ValueError, DiagError) as e:
        out.write("INVALID: %s\n" % e)
        return 2
    ok, res = verify(doc, kbpk, dk)
    if not ok:
        out.write("INVALID: %s\n" % res)
        return 1
    s = res["summary"] or {}
    out.write("VALID: report of terminal %s (KBPK KCV %s) at %s, nonce %s: %d PASS, %d FAIL, %d SKIPPED\n"
              % (res["terminal_id"], res["kbpk_kcv"], res["time"], res["nonce"], s.get("PASS", 0),
                 s.get("FAIL", 0), s.get("SKIPPED", 0)))
    return 0


# ---- the command ------------------------------------------------------------------------------------

MODE_CODE = ("import board\nhw = board.build()\nfrom wasl.diag.gate import set_production\n"
             "print('WASL-MODE', set_production(hw.secure_storage, %r))\n")


def _credential_args(ap):
    ap.add_argument("--tech-key-file", help="production terminals: the terminal's technician key, hex")
    ap.add_argument("--kbpk-file", help="production terminals: the terminal's KBPK, hex (the key is derived)")


def main_mode(argv, out=sys.stdout):
    ap = argparse.ArgumentParser(prog="python -m tools.diag mode")
    ap.add_argument("mode", choices=("production", "developer"))
    ap.add_argument("--port", required=True)
    ap.add_argument("--mpremote", default=MPREMOTE)
    _credential_args(ap)
    a = ap.parse_args(argv)
    try:
        reset, locked = open_session(a.port, a, out)
        cmd = [a.mpremote, "connect", a.port] + ([] if reset else ["resume"])
        res = subprocess.run(cmd + ["exec", MODE_CODE % (a.mode == "production")], capture_output=True,
                             text=True, timeout=60)
    except Refused as e:
        out.write("refused: %s\n" % e)
        return 3
    except (DiagError, OSError, subprocess.TimeoutExpired) as e:
        out.write("failed: %s\n" % e)
        return 2
    if "WASL-MODE" not in res.stdout:
        out.write("failed: %s\n" % (res.stderr.strip()[-500:] or res.stdout.strip()[-500:]))
        return 2
    if locked and a.mode == "production":
        relock(a.port)
    out.write("Terminal in %s mode%s\n" % (a.mode, " from its next restart" if a.mode == "production" else ""))
    return 0


def main(argv=None, out=sys.stdout):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:
        return main_verify(argv[1:], out)
    if argv[:1] == ["mode"]:
        return main_mode(argv[1:], out)
    ap = argparse.ArgumentParser(prog="python -m tools.diag", description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=True, help="the terminal's serial port (or the desktop bridge's pty)")
    ap.add_argument("--parts", help="comma-separated parts (default: all): versions,clock,storage,keys,"
                                    "battery,echo,display,printer,keypad,card,wifi,modem")
    ap.add_argument("--wait", type=int, default=30, help="seconds for each part that needs a person (keypad, card)")
    ap.add_argument("--json", help="save the signed report here")
    ap.add_argument("--no-reset", action="store_true", help="no soft reset first (mpremote resume)")
    ap.add_argument("--mpremote", default=MPREMOTE)
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    _credential_args(ap)
    a = ap.parse_args(argv)

    def progress(line):
        if not a.quiet:
            out.write("  %s\n" % line)
            out.flush()

    locked = False
    try:
        reset, locked = open_session(a.port, a, out)
        text, sig, nonce = run_remote(a.port, a.parts, a.wait, mpremote=a.mpremote,
                                      reset=reset and not a.no_reset, progress=progress)
        report = json.loads(text)
    except Refused as e:
        out.write("refused: %s\n" % e)
        return 3
    except (DiagError, ValueError, OSError) as e:
        out.write("diagnostics failed: %s\n" % e)
        return 2
    finally:
        if locked:
            try:
                ok = relock(a.port)
            except Exception:       # the port went away: the terminal locks at its next restart anyway
                ok = False
            if not ok:
                out.write("warning: the terminal did not lock again; restart it\n")
    if report.get("nonce") != nonce:
        out.write("diagnostics failed: the report does not answer this run's nonce (a stale report?)\n")
        return 2
    table(report, sig, out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(saved_document(text, sig, a.port), f, indent=1)
            f.write("\n")
        out.write("Saved %s\n" % a.json)
    return 1 if report.get("summary", {}).get("FAIL") or report.get("board_error") else 0


if __name__ == "__main__":
    sys.exit(main())
