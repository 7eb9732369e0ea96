# The report's signature and the technician's credential: HMAC-SHA256 (RFC 2104, FIPS 198-1) under keys
# derived from the terminal's KBPK (docs/keys.md) the way the key store derives its state keys:
# AES-CMAC(KBPK, label). The derived keys are per terminal and independent of each other; whoever holds
# the KBPK (the key injection facility's records) can recompute them; neither reveals the KBPK.
import hashlib

from wasl.crypto.util import hexu, wipe

REPORT = b"\x01WASL diagnostics report"
TECHNICIAN = b"\x01WASL technician access"


def hmac_sha256(key, msg):
    """HMAC-SHA256 of msg (bytes) under key (bytes-like): 32 bytes."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    pad = bytearray(64)
    pad[:len(key)] = key
    for i in range(64):
        pad[i] ^= 0x36
    inner = hashlib.sha256(pad)
    inner.update(msg)
    for i in range(64):
        pad[i] ^= 0x36 ^ 0x5C
    outer = hashlib.sha256(pad)
    outer.update(inner.digest())
    wipe(pad)
    return outer.digest()


def derived_key(secure, label):
    """(16-byte key, KBPK KCV hex) derived from the KBPK in secure storage, or (None, None) when the
    terminal has none. The caller wipes the key."""
    kbpk = secure.get("kbpk") if secure is not None else None
    if not kbpk or len(kbpk) not in (16, 32):
        return None, None
    from wasl.crypto.cmac import aes_cmac, aes_kcv

    k = bytearray(kbpk)
    try:
        return aes_cmac(k, label), hexu(aes_kcv(k))
    finally:
        wipe(k)


def signature(key, kcv, text):
    """The signature object of a report's exact text under the diagnostics key (from derived_key)."""
    return {"alg": "HMAC-SHA256", "key": "CMAC(KBPK, 01 'WASL diagnostics report')", "kbpk_kcv": kcv,
            "mac": hexu(hmac_sha256(key, text.encode()))}
