# AES DUKPT, ANSI X9.24-3-2017, on the side of the transaction-originating SCD (the terminal).
#
# The initial key (derived by the host from the BDK and the 8-byte initial key ID) is loaded once; it
# fills the 32 intermediate derivation key registers ("future keys") and is then forgotten. Register j
# holds the key of a transaction counter whose rightmost one bit is bit j. For each transaction the
# current intermediate derivation key gives the working keys (PIN, MAC, data), then the state moves on:
# future keys below the current bit are derived from it, it is erased, the counter advances, skipping
# counters with more than 16 one bits, and the state is saved BEFORE any working key is used, so a
# power cut can never make the terminal use a key twice. The KSN is the initial key ID + the 32-bit
# counter (12 bytes).
#
# Keys are AES-128 or AES-256 (cryptolib has no AES-192). Working keys may be AES-128/256, 2TDEA or
# 3TDEA, never stronger than the derivation key. Persisting goes through `storage`, any object with
# save(blob) and load() -> blob or None: the caller decides where (wasl.crypto.keystore: encrypted,
# in the board's secure storage).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl.crypto import aes
from wasl.crypto.util import Persistent, count_one_bits, get_u32, hexu, put_u32, wipe

# Key types: the algorithm indicator of the derivation data (X9.24-3 6.2.2, 6.3.2), and key usage
# indicators (6.3.2): those the terminal uses, private (no RAM). The whole tables, public, are in
# host.py: dukpt_aes.KEY_AES128, dukpt_aes.USAGE_PIN_ENCRYPTION... find them there.
_KEY_AES128 = const(2)
_KEY_AES192 = const(3)
_KEY_AES256 = const(4)
_KEY_BYTES = const(b"\x10\x18\x10\x18\x20")     # by key type: 2TDEA, 3TDEA, AES-128, AES-192, AES-256
_KEY_NAMES = const(("2TDEA", "3TDEA", "AES-128", "AES-192", "AES-256"))

_USAGE_PIN_ENCRYPTION = const(0x1000)
_USAGE_MAC_GENERATION = const(0x2000)
_USAGE_MAC_VERIFICATION = const(0x2001)
_USAGE_DATA_ENCRYPT = const(0x3000)
_USAGE_KEY_DERIVATION = const(0x8000)
_USAGE_KEY_DERIVATION_INITIAL_KEY = const(0x8001)
# The working keys of one transaction (usage, key type), in the order wasl.crypto.txnkeys.TxnKeys holds them
TXN_KEYS = const(((_USAGE_PIN_ENCRYPTION, _KEY_AES128), (_USAGE_MAC_GENERATION, _KEY_AES128),
                  (_USAGE_MAC_VERIFICATION, _KEY_AES128), (_USAGE_DATA_ENCRYPT, _KEY_AES128)))

_NUM_REG = const(32)   # intermediate derivation key registers = counter bits
_MAX_WORK = const(16)  # most one bits a valid transaction counter has
_KSN_LEN = const(12)
_STATE_HEAD = const(19)

_BLK = bytearray(16)   # one derivation block (key material: zeroed after use)


class DukptError(Exception):
    pass


class DukptExhausted(DukptError):
    """The transaction counter has no valid value left: the terminal needs a new initial key."""


def key_name(key_type):
    return _KEY_NAMES[key_type]


def _aes_type(key):
    n = len(key)
    if n == 16:
        return _KEY_AES128
    if n == 32:
        return _KEY_AES256
    raise DukptError("AES DUKPT key of %d bytes: AES-128 or AES-256 (no AES-192 in cryptolib)" % n)


def derivation_data(usage, key_type, initial_key_id, counter, out):
    """The 16-byte derivation data (X9.24-3 6.3.2): version 01, block counter 01, key usage, algorithm,
    length in bits, then the initial key ID (initial key derivation) or its right half + the counter."""
    bits = _KEY_BYTES[key_type] * 8
    out[0] = 1
    out[1] = 1
    out[2] = usage >> 8
    out[3] = usage & 0xFF
    out[4] = 0
    out[5] = key_type
    out[6] = bits >> 8
    out[7] = bits & 0xFF
    if usage == _USAGE_KEY_DERIVATION_INITIAL_KEY:
        for i in range(8):
            out[8 + i] = initial_key_id[i]
    else:
        for i in range(4):
            out[8 + i] = initial_key_id[4 + i]
        put_u32(out, 12, counter)
    return out


def derive_key(key, key_type, data, out, e=None):
    """X9.24-3 DeriveKey: AES-ECB of the derivation data under the derivation key `key`, one block per
    128 bits of the derived key (block counter 1, 2), truncated to its length. out may alias the
    derivation key. e: a cryptolib ECB object of the derivation key already made (one per key saves heap)."""
    n = _KEY_BYTES[key_type]
    if e is None:
        e = aes.ecb(key)
    b = _BLK
    o = 0
    blk = 1
    while o < n:
        data[1] = blk
        e.encrypt(data, b)
        for i in range(16 if n - o > 16 else n - o):
            out[o + i] = b[i]
        o += 16
        blk += 1
    data[1] = 1
    wipe(b)
    return out


def _check_strength(key_type, n):
    """Can a derivation key of n bytes make a working key of this type?"""
    if key_type == _KEY_AES192:
        raise DukptError("AES-192 working keys: not supported (cryptolib)")
    if key_type < 0 or key_type > _KEY_AES256:
        raise DukptError("unknown key type %r" % key_type)
    if key_type == _KEY_AES256 and n < 32:
        raise DukptError("an AES-256 working key needs an AES-256 derivation key")


def __getattr__(name):
    # The receiving side's derivations (derive_initial_key, intermediate_derivation_key, working_key,
    # counter_valid: the host, the key injection tool and the tests) and the public tables of key types
    # and usages are in host.py, found here too.
    from wasl.crypto import host

    return getattr(host, name)


class AesDukpt(Persistent):
    """The terminal's AES DUKPT state: initial key ID, transaction counter, 32 registers."""

    def __init__(self, storage=None):
        self._storage = storage
        self._key_type = None
        self._ikid = bytearray(8)
        self._counter = 0
        self._regs = None               # _NUM_REG x key length, register j at j * klen
        self._in_use = bytearray(_NUM_REG)
        self._dd = bytearray(16)
        self._blob = None

    @property
    def loaded(self):
        return self._key_type is not None

    @property
    def key_type(self):
        return self._key_type

    @property
    def initial_key_id(self):
        return bytes(self._ikid)

    @property
    def counter(self):
        """The counter of the next transaction (it may still skip forward over invalid values)."""
        return self._counter

    def _reg(self, i):
        k = _KEY_BYTES[self._key_type]
        return memoryview(self._regs)[i * k:(i + 1) * k]

    def _alloc(self, key_type):
        k = _KEY_BYTES[key_type]
        if self._regs is None or len(self._regs) != _NUM_REG * k:
            self.erase()
            self._regs = bytearray(_NUM_REG * k)
            self._blob = bytearray(_STATE_HEAD + _NUM_REG * k)
        self._key_type = key_type

    def load_initial_key(self, key, initial_key_id):
        """Load the initial key `key` (16 or 32 bytes) and its 8-byte ID: fill every register with
        its future key, set the counter to 1, save. The caller wipes its copy of the initial key."""
        if len(initial_key_id) != 8:
            raise DukptError("initial key ID: 8 bytes")
        kt = _aes_type(key)
        self._alloc(kt)
        self._ikid[:] = initial_key_id
        dd = self._dd
        e = aes.ecb(key)
        for j in range(_NUM_REG - 1, -1, -1):
            derivation_data(_USAGE_KEY_DERIVATION, kt, self._ikid, 1 << j, dd)
            derive_key(None, kt, dd, self._reg(j), e)
            self._in_use[j] = 1
        self._counter = 1
        self.save()

    def _select(self):
        """Index of the register of the current counter's rightmost one bit; counters whose register is
        empty (more than _MAX_WORK one bits) are skipped as X9.24-3 requires."""
        if not self.loaded:
            raise DukptError("no initial key loaded")
        c = self._counter
        while True:
            if c <= 0 or c > 0xFFFFFFFF:
                self._counter = c
                raise DukptExhausted("transaction counter exhausted")
            i = 0
            while not (c >> i) & 1:
                i += 1
            if self._in_use[i]:
                self._counter = c
                return i
            c += 1 << i

    def ksn(self, out=None):
        """The key serial number of the next transaction: initial key ID + counter (12 bytes)."""
        self._select()
        if out is None:
            out = bytearray(_KSN_LEN)
        out[0:8] = self._ikid
        put_u32(out, 8, self._counter)
        return out

    def generate_working_keys(self, requests, out, ksn=None):
        """One transaction. For each (usage, key type) in requests, the working key of the current
        counter goes into out, one after the other; the state then moves on and is saved before this
        returns. Returns the transaction's KSN (12 bytes, into ksn if given). DukptExhausted at the end."""
        i = self._select()
        ksn = self.ksn(ksn)
        c = self._counter
        e = aes.ecb(self._reg(i))       # the current intermediate derivation key
        o = 0
        try:
            for usage, kt in requests:
                _check_strength(kt, _KEY_BYTES[self._key_type])
                n = _KEY_BYTES[kt]
                if o + n > len(out):
                    raise DukptError("working key buffer too small")
                derivation_data(usage, kt, self._ikid, c, self._dd)
                derive_key(None, kt, self._dd, memoryview(out)[o:o + n], e)
                o += n
            self._advance(i, e)
            self.save()
        except BaseException:
            wipe(out)
            raise
        return ksn

    def _advance(self, i, e):
        """X9.24-3 'update state for next transaction' for the current register i (e: its ECB object)."""
        c = self._counter
        kt = self._key_type
        if count_one_bits(c) < _MAX_WORK:
            dd = self._dd
            for j in range(i - 1, -1, -1):
                derivation_data(_USAGE_KEY_DERIVATION, kt, self._ikid, c | (1 << j), dd)
                derive_key(None, kt, dd, self._reg(j), e)
                self._in_use[j] = 1
            step = 1
        else:
            step = 1 << i
        wipe(self._reg(i))
        self._in_use[i] = 0
        self._counter = c + step

    # ---- state ---------------------------------------------------------------------------------

    def state(self):
        """The state as bytes to persist (secret: registers in clear): 'A', version 1, key type, initial
        key ID, counter, register bitmap, registers. The returned buffer is reused: copy or save it now."""
        b = self._blob
        b[0] = 0x41
        b[1] = 1
        b[2] = self._key_type
        b[3:11] = self._ikid
        put_u32(b, 11, self._counter)
        m = 0
        for j in range(_NUM_REG):
            if self._in_use[j]:
                m |= 1 << j
        put_u32(b, 15, m)
        b[_STATE_HEAD:] = self._regs
        return b

    def restore(self, state):
        """Take a state made by state(); DukptError if it is not one."""
        if len(state) < _STATE_HEAD or state[0] != 0x41 or state[1] != 1 or state[2] not in (_KEY_AES128, _KEY_AES256):
            raise DukptError("not an AES DUKPT state")
        kt = state[2]
        if len(state) != _STATE_HEAD + _NUM_REG * _KEY_BYTES[kt]:
            raise DukptError("AES DUKPT state of the wrong length")
        self._alloc(kt)
        self._ikid[:] = state[3:11]
        self._counter = get_u32(state, 11)
        m = get_u32(state, 15)
        for j in range(_NUM_REG):
            self._in_use[j] = (m >> j) & 1
        self._regs[:] = state[_STATE_HEAD:]

    def erase(self):
        """Forget every key (registers zeroed): the terminal needs a new initial key."""
        if self._regs is not None:
            wipe(self._regs)
        if self._blob is not None:
            wipe(self._blob)
        wipe(self._in_use)
        self._key_type = None
        self._counter = 0

    def __repr__(self):
        if not self.loaded:
            return "<AesDukpt empty>"
        return "<AesDukpt %s IKID=%s counter=%08X>" % (_KEY_NAMES[self._key_type], hexu(self._ikid), self._counter)
