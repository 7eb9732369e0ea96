# The working keys of the next requests, ready before they are needed (docs/keys.md, "Keys in RAM").
#
# The key store (wasl.crypto.keystore: DUKPT registers, state sealing, TR-31) is the big part of the
# cryptography. It is loaded only to refill the KeySupply, at boot and at idle after a transaction, and
# then leaves RAM. During a payment the terminal holds only these few working keys (PIN, MAC generation,
# MAC verification, data encryption of one KSN each), not the registers every future key derives from.
# The DUKPT state is saved past every KSN handed out before the keys are used: a power cut skips KSNs,
# never repeats one.
from wasl.crypto import aes
from wasl.crypto.cmac import aes_cmac
from wasl.crypto.util import ct_equal, hexu, wipe

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

_DEPTH = const(3)     # key sets kept ready: a pending reversal, the request, the reversal of a card decline
# what the key store leaves behind once a refill is done (storage.py stays: the board made it)
_STORE_MODULES = const(("wasl.crypto.keystore", "wasl.crypto.dukpt_aes", "wasl.crypto.dukpt_tdes",
                  "wasl.crypto.tr31"))


class KeyStoreError(Exception):
    """reason: no_kbpk, no_key, bad_block, same_key, bad_state, exhausted, wiped."""

    def __init__(self, reason, detail=""):
        super().__init__("%s: %s" % (reason, detail) if detail else reason)
        self.reason = reason


class TxnKeys:
    """The working keys of one request and the KSN the host needs. The keys stay inside: use them
    with pin_block(), mac(), verify_mac(), encrypt_data(), then wipe() (or use it as a context manager)."""

    def __init__(self):
        self._keys = bytearray(64)   # PIN | MAC generation | MAC verification | data encryption (16 each)
        self._aes = True
        self.ksn = None
        self._live = False

    def _key(self, i):
        if not self._live:
            raise KeyStoreError("wiped", "transaction keys already wiped")
        return memoryview(self._keys)[16 * i:16 * i + 16]

    def pin_block(self, pin, pan, out=None, fill=None):
        """The enciphered PIN block: ISO 9564-1 format 4 under the AES PIN key, or format 0 under the TDES
        PIN key. Consumes the PIN: the caller's bytearray of digits is zeroed, whatever happens."""
        from wasl.crypto import pinblock

        if not isinstance(pin, (bytearray, memoryview)):
            raise TypeError("the PIN must be a bytearray: it is wiped after use")
        try:
            k = self._key(0)
            if self._aes:
                return pinblock.encipher_format4(k, pin, pan, out, fill)
            return pinblock.encipher_format0(k, pin, pan, out)
        finally:
            wipe(pin)

    def _mac(self, i, data):
        k = self._key(i)
        if self._aes:
            return aes_cmac(k, data)
        from wasl.crypto.iso9797 import retail_mac

        return retail_mac(k, data)

    def mac(self, data, out=None, n=8):
        """MAC of a request under the MAC generation key: AES-CMAC (leftmost n bytes) or, for TDES, the
        ISO 9797-1 algorithm 3 retail MAC (padding method 1)."""
        m = self._mac(1, data)
        if out is None:
            out = bytearray(n)
        out[:n] = m[:n]
        wipe(m)
        return out

    def verify_mac(self, data, mac):
        """Does mac (4 to 16 bytes) authenticate data under the MAC verification key?"""
        m = self._mac(2, data)
        n = len(mac)
        ok = 4 <= n <= len(m) and ct_equal(m[:n], mac)
        wipe(m)
        return ok

    def encrypt_data(self, data, out=None, iv=None):
        """CBC encipherment under the data encryption key (data: whole blocks; zero IV by default)."""
        k = self._key(3)
        if self._aes:
            return aes.encrypt_cbc(k, iv or bytes(16), data, out)
        from wasl.crypto import des

        return des.encrypt_cbc(k, iv or bytes(8), data, out)

    def wipe(self):
        wipe(self._keys)
        self._live = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.wipe()

    def __repr__(self):     # never a key: the KSN (12 bytes AES, 10 bytes TDES) and whether wiped
        return ("<TxnKeys KSN=%s>" if self._live else "<TxnKeys KSN=%s wiped>") % hexu(self.ksn or b"")


def unload_store():
    """The key store's code leaves RAM (its objects must be dropped first)."""
    from wasl import unload

    unload(*_STORE_MODULES)


class KeySupply:
    """What the payment flow holds as "the keys" (term.keys): TxnKeys for the next requests, each with
    its own KSN, taken in order. status is the key store's status() at the last refill (scheme, key
    check values, the next KSN it will hand out): what the idle screen and diagnostics may show."""

    def __init__(self, storage, depth=_DEPTH):
        self._secure = storage          # the board's secure storage
        self._ready = []
        self.depth = depth
        self.status = None

    def __len__(self):
        return len(self._ready)

    def refill(self, store=None):
        """Top up to depth key sets. store: a key store already loaded (boot); otherwise one is loaded from
        secure storage for this and dropped with its code. KeyStoreError when no key can be had."""
        need = self.depth - len(self._ready)
        if need <= 0:
            return
        ks = store
        own = ks is None
        if own:
            from wasl.crypto.keystore import KeyStore

            ks = KeyStore(self._secure)
        try:
            if own and not ks.load():
                raise KeyStoreError("no_key", "no DUKPT key injected")
            self._ready.extend(ks.prepare(need))
            self.status = ks.status()
        finally:
            if own:
                ks.wipe()
                ks = KeyStore = None
                unload_store()

    def ready(self):
        """At least one key set is there, or could be made now (else the reason is logged)."""
        if not self._ready:
            try:
                self.refill()
            except Exception as e:    # KeyStoreError (exhausted, bad_state...), the storage failing
                from wasl import log

                log.error("keys", "no transaction keys (%s): %s", getattr(e, "reason", "error"), e)
        return len(self._ready) > 0

    def take(self):
        """The next request's keys (the caller wipes them). Derived on the spot when none is ready (more
        requests in one transaction than depth): KeyStoreError if that fails."""
        if not self._ready:
            self.refill()
        return self._ready.pop(0)

    def wipe(self):
        """Forget every prepared key (their KSNs are skipped): shutdown, tamper, a new key."""
        for t in self._ready:
            t.wipe()
        self._ready = []
