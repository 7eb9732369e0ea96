# The terminal's keys at rest and in use (docs/keys.md). Nothing here hands out a clear key: callers get
# key check values, KSNs, and a TxnKeys object that uses the working keys of one transaction itself.
#
#   KBPK       key block protection key (AES-128/256), in the board's secure storage under "kbpk": on the
#              ESP32 NVS in an encrypted partition (NvsSecureStorage), in the sim a file under
#              <data>/secure/ (FileSecureStorage). It is read only to unwrap an injected key block and
#              to derive the two state-protection keys.
#   key block  the DUKPT initial key arrives as a TR-31 version D block under the KBPK: usage B1, mode X,
#              algorithm A (AES DUKPT, optional block IK = initial key ID) or T (TDES DUKPT, optional block
#              KS = initial KSN). inject() takes it; in the sim a technician drops it into the inbox
#              (<data>/keys/dukpt.tr31), which load() consumes at boot.
#   DUKPT      the future-key registers + counter, enciphered (AES-CBC) and MACed (AES-CMAC) under keys
#              derived from the KBPK, saved as "dukpt" in secure storage before any working key is used.
import os

from wasl import log
from wasl.crypto import aes
from wasl.crypto.cmac import aes_cmac, aes_kcv
from wasl.crypto.util import ct_equal, hexu, unhex, wipe

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

INBOX_NAME = "dukpt.tr31"
_KBPK = const("kbpk")    # the name wasl.keyload checks before loading this module
_STATE = const("dukpt")


# ---- secure storage (the board hook): wasl/crypto/storage.py ----------------------------------------
from wasl.crypto.storage import FileSecureStorage  # noqa: E402,F401  (re-exported)
# ---- one request's working keys, and the supply the payment flow holds: wasl/crypto/txnkeys.py --------
from wasl.crypto.txnkeys import KeyStoreError, TxnKeys  # noqa: E402,F401  (re-exported)


class _StateSlot:
    """The DUKPT object's storage: sealed under the KBPK-derived keys, into secure storage."""

    def __init__(self, store):
        self._ks = store

    def save(self, state):
        self._ks._seal(state)

    def load(self):
        return None


# ---- the key store ------------------------------------------------------------------------------------

class KeyStore:
    def __init__(self, storage, inbox=None):
        self._secure = storage          # the board's secure storage (wasl/crypto/storage.py)
        self._inbox = inbox
        self._dukpt = None
        self._aes = True
        self._ik_kcv = b""
        self._kbpk_kcv = b""
        self._sk = bytearray(32)          # state encipherment key | state MAC key
        self._have_sk = False
        self._txn = TxnKeys()
        self._sealed = None

    # -- KBPK

    def _kbpk(self):
        k = self._secure.get(_KBPK)
        if not k:
            raise KeyStoreError("no_kbpk", "no key block protection key in secure storage")
        k = bytearray(k)
        if len(k) not in (16, 32):
            wipe(k)
            raise KeyStoreError("no_kbpk", "the KBPK is not an AES-128 or AES-256 key")
        return k

    def _state_keys(self):
        if self._have_sk:
            return
        k = self._kbpk()
        try:
            self._kbpk_kcv = aes_kcv(k)
            aes_cmac(k, b"\x01WASL DUKPT state encipherment", memoryview(self._sk)[0:16])
            aes_cmac(k, b"\x01WASL DUKPT state authentication", memoryview(self._sk)[16:32])
            self._have_sk = True
        finally:
            wipe(k)

    # -- state sealing

    def _seal(self, state):
        """IV | AES-CBC(state key, IV, length | scheme | initial key KCV | DUKPT state | zero pad) | AES-CMAC."""
        n = len(state)
        plen = 6 + n
        plen += (-plen) % 16
        out = self._sealed
        if out is None or len(out) != 16 + plen + 16:
            out = self._sealed = bytearray(16 + plen + 16)   # made once: sealed every transaction
        mv = memoryview(out)
        out[0:16] = os.urandom(16)
        p = mv[16:16 + plen]
        p[0] = n >> 8
        p[1] = n & 0xFF
        p[2] = 0x41 if self._aes else 0x54
        p[3:6] = self._ik_kcv
        p[6:6 + n] = state
        for i in range(6 + n, plen):
            p[i] = 0
        sk = memoryview(self._sk)
        try:
            aes.encrypt_cbc(sk[0:16], out[0:16], p, p)
        except BaseException:
            wipe(out)
            raise
        aes_cmac(sk[16:32], mv[0:16 + plen], mv[16 + plen:])
        self._secure.put(_STATE, out)

    def _unseal(self, data):
        n = len(data)
        if n < 48 or n % 16:
            raise KeyStoreError("bad_state", "saved key state has a wrong length")
        sk = memoryview(self._sk)
        m = aes_cmac(sk[16:32], memoryview(data)[0:n - 16])
        if not ct_equal(m, memoryview(data)[n - 16:]):
            raise KeyStoreError("bad_state", "saved key state fails its MAC (altered, or another KBPK)")
        p = aes.decrypt_cbc(sk[0:16], data[0:16], memoryview(data)[16:n - 16])
        ln = (p[0] << 8) | p[1]
        if 6 + ln > len(p) or p[2] not in (0x41, 0x54):
            wipe(p)
            raise KeyStoreError("bad_state", "saved key state is malformed")
        return p, ln

    # -- life cycle

    def load(self):
        """At boot: derive the state keys from the KBPK, restore the DUKPT state, take a key block waiting
        in the inbox. Returns True when transactions can get keys. KeyStoreError if the KBPK is missing
        or the saved state is damaged (the terminal then needs a new key injection)."""
        self._state_keys()
        sealed = self._secure.get(_STATE)
        if sealed:
            p, ln = self._unseal(sealed)
            try:
                d = self._new_dukpt(p[2])
                d.restore(memoryview(p)[6:6 + ln])
                self._ik_kcv = bytes(p[3:6])
                self._dukpt = d
            except Exception as e:
                raise KeyStoreError("bad_state", str(e))
            finally:
                wipe(p)
        self._take_inbox()
        return self._dukpt is not None

    def _new_dukpt(self, scheme):
        """An empty DUKPT object of the scheme: 0x41 ('A') AES, 0x54 ('T') TDES, as the sealed state says."""
        self._aes = scheme == 0x41
        if self._aes:
            from wasl.crypto.dukpt_aes import AesDukpt

            return AesDukpt(_StateSlot(self))
        from wasl.crypto.dukpt_tdes import TdesDukpt

        return TdesDukpt(_StateSlot(self))

    def _take_inbox(self):
        if not self._inbox:
            return
        path = self._inbox + "/" + INBOX_NAME
        try:
            with open(path) as f:
                block = f.read().strip()
        except OSError:
            return
        try:
            self.inject(block)
            os.remove(path)
        except KeyStoreError as e:
            log.error("keys", "key block in the inbox refused (%s); kept as %s.rejected", e.reason, INBOX_NAME)
            os.rename(path, "%s.rejected" % path)

    def inject(self, block):
        """Load a DUKPT initial key from a TR-31 block under the KBPK; it replaces the current one. The
        same initial key twice is refused (its KSNs would repeat). Returns the initial key's KCV."""
        from wasl.crypto import tr31    # only when a key arrives

        self._state_keys()
        k = self._kbpk()
        try:
            h, key = tr31.unwrap(k, block, usage="B1")
        except tr31.TR31Error as e:
            raise KeyStoreError("bad_block", str(e))
        finally:
            wipe(k)
        try:
            if h.mode != "X":
                raise KeyStoreError("bad_block", "mode of use %s: an initial DUKPT key is X" % h.mode)
            if h.algorithm == "A":
                kid = h.block("IK")
                if kid is None or len(kid) != 16:
                    raise KeyStoreError("bad_block", "an AES DUKPT key block needs an IK block (16 hex)")
                kcv = aes_kcv(key)
                is_aes = True
            elif h.algorithm == "T":
                kid = h.block("KS")
                if kid is None or len(kid) != 20 or len(key) != 16:
                    raise KeyStoreError("bad_block",
                                        "a TDES DUKPT key block needs a 2-key TDES key and a KS block (20 hex)")
                from wasl.crypto.des import kcv as tdes_kcv

                kcv = tdes_kcv(key)
                is_aes = False
            else:
                raise KeyStoreError("bad_block", "algorithm %s: A (AES DUKPT) or T (TDES DUKPT)" % h.algorithm)
            try:
                kid = bytearray(unhex(kid))
            except ValueError:
                raise KeyStoreError("bad_block", "initial key ID is not hex")
            if not is_aes:              # the initial KSN: its counter bits are zero
                kid[7] &= 0xE0
                kid[8] = 0
                kid[9] = 0
            kid = bytes(kid)
            old = self._dukpt
            if old is not None and kcv == self._ik_kcv and old.initial_key_id == kid:
                raise KeyStoreError("same_key", "this initial key is already loaded")
            old_aes, old_kcv = self._aes, self._ik_kcv
            d = self._new_dukpt(0x41 if is_aes else 0x54)
            self._ik_kcv = kcv
            try:
                d.load_initial_key(key, kid)      # saves the new state
            except Exception as e:
                d.erase()
                self._aes, self._ik_kcv = old_aes, old_kcv
                if isinstance(e, (MemoryError, OSError)):
                    raise             # the terminal's trouble, not the block's: it stays in the inbox
                raise KeyStoreError("bad_block", str(e))
            if old is not None:
                old.erase()
            self._dukpt = d
            log.info("keys", "DUKPT initial key loaded: %s, KCV %s, next KSN %s", self._scheme_name(),
                     hexu(kcv), hexu(d.ksn()))
            return kcv
        finally:
            wipe(key)

    def _scheme_name(self):
        if self._dukpt is None:
            return "none"
        name = "TDES"
        if self._aes:
            from wasl.crypto.dukpt_aes import key_name

            name = key_name(self._dukpt.key_type)
        return "%s DUKPT" % name

    # -- transactions

    def begin_transaction(self):
        """The next KSN's keys (PIN, MAC generation, MAC verification, data encryption), in the key
        store's own TxnKeys (the previous one is wiped). The DUKPT state has moved on and is saved when
        this returns. Wipe the TxnKeys when done."""
        self._txn.wipe()
        return self._derive(self._txn)

    def prepare(self, n):
        """TxnKeys for the next n KSNs, in order (wasl.crypto.txnkeys.KeySupply); the state is saved past
        each before it is handed out. Fewer when the counter runs out on the way; KeyStoreError when none
        can be made."""
        out = []
        try:
            for _ in range(n):
                out.append(self._derive(TxnKeys()))
        except KeyStoreError as e:
            if e.reason == "exhausted" and out:
                return out            # the last KSNs of the key: used before it must be replaced
            for t in out:
                t.wipe()
            raise
        except BaseException:
            for t in out:
                t.wipe()
            raise
        return out

    def _derive(self, t):
        d = self._dukpt
        if d is None:
            raise KeyStoreError("no_key", "no DUKPT key loaded")
        t._aes = self._aes
        if self._aes:
            from wasl.crypto import dukpt_aes as dm
        else:
            from wasl.crypto import dukpt_tdes as dm
        try:
            t.ksn = bytes(d.generate_working_keys(dm.TXN_KEYS, t._keys))
        except dm.DukptExhausted:
            t.wipe()
            raise KeyStoreError("exhausted", "DUKPT counter exhausted: inject a new key")
        t._live = True
        return t

    # -- inspection and clean-up

    def status(self):
        """What a technician may see: scheme, key check values, initial key ID and next KSN (no keys)."""
        s = {"scheme": self._scheme_name(), "kbpk_kcv": hexu(self._kbpk_kcv), "ik_kcv": hexu(self._ik_kcv),
             "ksn": None}
        if self._dukpt is not None:
            try:
                s["ksn"] = hexu(self._dukpt.ksn())
            except Exception:
                s["ksn"] = "exhausted"
        return s

    def wipe(self):
        """Forget every key held in RAM (the saved state stays): shutdown, tamper."""
        self._txn.wipe()
        wipe(self._sk)
        self._have_sk = False
        if self._dukpt is not None:
            self._dukpt.erase()
            self._dukpt = None

    def erase(self):
        """Decommission: wipe RAM and delete the saved DUKPT state (the KBPK stays)."""
        self.wipe()
        self._secure.delete(_STATE)

    def __repr__(self):
        st = self.status()
        return "<KeyStore %s KSN=%s IK-KCV=%s KBPK-KCV=%s>" % (st["scheme"], st["ksn"], st["ik_kcv"], st["kbpk_kcv"])
