# Cardholder verification (EMV Book 3 section 10.5; the CVM list is described in Annex C3).
#
# The CVM list (8E) is X and Y amounts (4 bytes each, binary, in the application currency 9F42) and
# two-byte rules: CVM code (b7 'apply the next rule if this one fails', b6-b1 the method) and condition.
# This kernel performs: enciphered PIN online (the caller's pin callback collects it), signature, no
# CVM required, fail CVM. Offline PIN (VERIFY) is not implemented: a rule asking for it fails with
# 'PIN entry required and PIN pad not present or not working' (params must not announce it in 9F33).
# Results: CVM Results 9F34 (method, condition, 00 unknown / 01 failed / 02 successful), TVR byte 3,
# TSI 'cardholder verification was performed'.
from wasl.emv.apdu import Cancelled, CardError

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_FAILED = const(-1)


def _supported(k, cvm):
    caps = k.term[0x9F33]
    b2 = caps[1] if len(caps) > 1 else 0
    if cvm == 0x02:
        return b2 & 0x40            # enciphered PIN for online verification
    if cvm == 0x1E:
        return b2 & 0x20            # signature (paper)
    if cvm == 0x1F:
        return b2 & 0x08            # no CVM required
    if cvm == 0x00:
        return True                 # "fail CVM processing" is always possible
    return False                    # offline PIN: no VERIFY in this kernel


def _condition(k, code, cond, x, y):
    """Is the rule's condition (Annex C3 table 40) satisfied for this transaction?"""
    tt = k.txn_type
    cash = tt == 0x01
    unattended = (k.term[0x9F35][0] & 0x0F) >= 4
    if cond == 0x00:
        return True                 # always
    if cond == 0x01:
        return cash and unattended  # unattended cash
    if cond == 0x02:
        return not cash and tt != 0x09   # not unattended cash, not manual cash, not cashback
    if cond == 0x03:
        return _supported(k, code & 0x3F)
    if cond == 0x04:
        return cash and not unattended   # manual cash
    if cond == 0x05:
        return tt == 0x09           # purchase with cashback
    if 0x06 <= cond <= 0x09:
        cur = k.icc.get(0x9F42)     # amounts are only comparable in the application currency
        if cur is None or bytes(cur) != k.term[0x5F2A]:
            return False
        a = k.amount
        if cond == 0x06:
            return a < x
        if cond == 0x07:
            return a > x
        if cond == 0x08:
            return a < y
        return a > y
    return False                    # a condition this terminal does not know: rule skipped


async def _perform(k, cvm):
    """Perform one CVM: the CVM Results byte 3 (00 unknown, 02 successful), or _FAILED."""
    tvr = k.tvr
    if cvm == 0x00:
        return _FAILED
    if cvm == 0x1F:
        return 0x02 if _supported(k, cvm) else _FAILED
    if cvm == 0x1E:
        if not _supported(k, cvm):
            return _FAILED
        k.result.signature = True
        return 0x00
    if cvm == 0x02:
        if not _supported(k, cvm):
            return _FAILED
        if k.pin is None:
            tvr[2] |= 0x10          # PIN entry required and PIN pad not present or not working
            return _FAILED
        entered = await k.pin(k.result)
        if entered is None:
            raise Cancelled()
        if entered:
            tvr[2] |= 0x04          # online PIN entered
            k.result.online_pin = True
            return 0x00
        tvr[2] |= 0x08              # PIN entry required, PIN pad present, but PIN was not entered
        return _FAILED
    if cvm in (0x01, 0x03, 0x04, 0x05):
        tvr[2] |= 0x10              # offline PIN: not supported by this terminal
        return _FAILED
    tvr[2] |= 0x40                  # unrecognised CVM
    return _FAILED


def _set(k, code, cond, result):
    k.term[0x9F34] = bytes((code, cond, result))     # CVM Results


async def cvm_list_processing(k):
    """Walk the CVM list (Book 3 10.5): the first rule whose condition holds is performed; on failure
    the next one only when the rule says so."""
    lst = k.icc.get(0x8E)
    if lst is None or len(lst) < 10:
        k.tvr[0] |= 0x20            # ICC data missing
        _set(k, 0x3F, 0x00, 0x00)
        return
    if len(lst) & 1:
        raise CardError("CVM list of %d bytes" % len(lst))
    x = int.from_bytes(lst[0:4], "big")
    y = int.from_bytes(lst[4:8], "big")
    last = None
    for i in range(8, len(lst), 2):
        code = lst[i]
        cond = lst[i + 1]
        if not _condition(k, code, cond, x, y):
            continue
        res = await _perform(k, code & 0x3F)
        if res != _FAILED:
            _set(k, code, cond, res)
            return
        last = i
        if not code & 0x40:
            break
    k.tvr[2] |= 0x80                # cardholder verification was not successful
    if last is None:
        _set(k, 0x3F, 0x00, 0x01)   # no CVM performed
    else:
        _set(k, lst[last], lst[last + 1], 0x01)


async def cardholder_verification(k):
    if k.contactless:
        return await _contactless(k)
    if not k.icc[0x82][0] & 0x10:   # AIP: cardholder verification not supported
        _set(k, 0x3F, 0x00, 0x00)
        return
    k.tsi[0] |= 0x40                # cardholder verification was performed
    await cvm_list_processing(k)


async def _contactless(k):
    """Contactless (Book A/C): no CVM under the reader CVM required limit; above it the card's
    qualifiers (9F6C: online PIN / signature), else its CVM list, else online PIN."""
    if k.amount < k.cl.get("cvm_limit", 0):
        _set(k, 0x1F, 0x00, 0x02)
        return
    k.tsi[0] |= 0x40
    ctq = k.icc.get(0x9F6C)
    if ctq is not None and len(ctq) >= 1:
        for cvm, bit in ((0x02, 0x80), (0x1E, 0x40)):
            if ctq[0] & bit and _supported(k, cvm):
                res = await _perform(k, cvm)
                if res != _FAILED:
                    _set(k, cvm, 0x00, res)
                    return
    elif k.icc[0x82][0] & 0x10 and 0x8E in k.icc:
        await cvm_list_processing(k)
        return
    elif _supported(k, 0x02):
        res = await _perform(k, 0x02)
        if res != _FAILED:
            _set(k, 0x02, 0x00, res)
            return
    k.tvr[2] |= 0x80
    _set(k, 0x3F, 0x00, 0x01)
