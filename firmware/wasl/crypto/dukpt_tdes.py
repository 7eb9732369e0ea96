# TDES DUKPT, ANSI X9.24-1-2009 Annex A, on the terminal's side: for legacy hosts. The same scheme as
# AES DUKPT (dukpt_aes.py) with the 2009 names: initial PIN encryption key (IPEK) + initial KSN
# (10 bytes, the right 21 bits are the encryption counter), 21 future key registers, the non-reversible
# key generation process (two single-DES encipherments), counters with at most 10 one bits, and
# working keys as variants of the transaction key (Table A-1). Slow: pure-Python DES.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl.crypto.des import TDES, crypt_block, key_schedule
from wasl.crypto.util import Persistent, count_one_bits, hexu, wipe

NUM_REG = const(21)
MAX_WORK = const(10)
KSN_LEN = const(10)
_COUNTER_MAX = const(0x1FFFFF)
_STATE_HEAD = const(15)

# Working key variants (X9.24-1-2009 A.4.1 Table A-1): the number is the byte (and byte + 8) of the
# transaction key XORed with FF. OWF: for data keys, the variant key then enciphers each of its halves
# (TDES-ECB), the data key most hosts and HSMs expect.
PIN = const(7)
MAC_REQUEST = const(6)
MAC_RESPONSE = const(4)
DATA_REQUEST = const(5)
DATA_RESPONSE = const(3)
OWF = const(0x80)
# The working keys of one transaction, in the order wasl.crypto.txnkeys.TxnKeys holds them
TXN_KEYS = const((PIN, MAC_REQUEST, MAC_RESPONSE, DATA_REQUEST | OWF))

_KR = bytearray(16)   # key register of the non-reversible key generation process
_CR = bytearray(16)   # crypto registers 1 and 2
_KS = bytearray(128)  # DES key schedule


class DukptError(Exception):
    pass


class DukptExhausted(DukptError):
    pass


def _xor_c0(k):
    for i in (0, 1, 2, 3, 8, 9, 10, 11):
        k[i] ^= 0xC0


def nrkgp(key, ksn_reg, out):
    """Non-reversible key generation process (X9.24-1 A.2): the next key from a 16-byte key and the KSN
    register (its right 8 bytes are crypto register-1). out may alias key."""
    kr = _KR
    cr = _CR
    ks = _KS
    kr[:] = key
    for i in range(8):
        cr[i] = ksn_reg[2 + i]                      # crypto register-1
        cr[8 + i] = ksn_reg[2 + i] ^ kr[8 + i]      # crypto register-2
    key_schedule(kr, 0, ks)
    crypt_block(ks, 0, False, cr, 8, cr, 8)
    for i in range(8):
        cr[8 + i] ^= kr[8 + i]
    _xor_c0(kr)
    for i in range(8):
        cr[i] ^= kr[8 + i]
    key_schedule(kr, 0, ks)
    crypt_block(ks, 0, False, cr, 0, cr, 0)
    for i in range(8):
        cr[i] ^= kr[8 + i]
    out[0:16] = cr
    wipe(kr)
    wipe(cr)
    wipe(ks)
    return out


def derive_ipek(bdk, ksn, out=None):
    """Initial PIN encryption key from a 16-byte BDK and the (initial) KSN, X9.24-1 A.6. Host side."""
    if len(bdk) != 16 or len(ksn) != KSN_LEN:
        raise DukptError("TDES DUKPT: BDK of 16 bytes, KSN of 10")
    if out is None:
        out = bytearray(16)
    d = bytearray(8)
    d[:] = ksn[0:8]
    d[7] &= 0xE0
    k = bytearray(bdk)
    t = TDES(k)
    t.encrypt_block(d, 0, out, 0)
    t.wipe()
    _xor_c0(k)
    t = TDES(k)
    t.encrypt_block(d, 0, out, 8)
    t.wipe()
    wipe(k)
    return out


def _set_counter(ksn_reg, base, counter):
    ksn_reg[0:10] = base
    ksn_reg[7] = (base[7] & 0xE0) | (counter >> 16)
    ksn_reg[8] = (counter >> 8) & 0xFF
    ksn_reg[9] = counter & 0xFF


def ksn_counter(ksn):
    return ((ksn[7] & 0x1F) << 16) | (ksn[8] << 8) | ksn[9]


def transaction_key(ipek, ksn, out=None):
    """Receiving-side derivation of the transaction key of a KSN from the IPEK (one NRKGP per one bit)."""
    if out is None:
        out = bytearray(16)
    out[:] = ipek
    reg = bytearray(KSN_LEN)
    base = bytearray(ksn)
    c = ksn_counter(ksn)
    wc = 0
    for j in range(20, -1, -1):
        if (c >> j) & 1:
            wc |= 1 << j
            _set_counter(reg, base, wc)
            nrkgp(out, reg, out)
    return out


def working_key(transaction_key, usage, out=None):
    """A working key from a transaction key: XOR the Table A-1 variant, then the OWF for data keys."""
    if out is None:
        out = bytearray(16)
    out[0:16] = transaction_key
    p = usage & 7
    out[p] ^= 0xFF
    out[8 + p] ^= 0xFF
    if usage & OWF:
        t = TDES(out)
        t.encrypt_block(out, 0, out, 0)
        t.encrypt_block(out, 8, out, 8)
        t.wipe()
    return out


class TdesDukpt(Persistent):
    """The terminal's TDES DUKPT state: initial KSN, encryption counter, 21 future key registers."""

    def __init__(self, storage=None):
        self._storage = storage
        self._loaded = False
        self._base = bytearray(KSN_LEN)     # initial KSN, counter bits zero
        self._counter = 0
        self._regs = bytearray(NUM_REG * 16)
        self._in_use = bytearray(NUM_REG)
        self._reg_ksn = bytearray(KSN_LEN)
        self._blob = bytearray(_STATE_HEAD + NUM_REG * 16)

    @property
    def loaded(self):
        return self._loaded

    @property
    def initial_key_id(self):
        """The initial KSN (counter bits zero)."""
        return bytes(self._base)

    @property
    def counter(self):
        return self._counter

    def _reg(self, j):
        return memoryview(self._regs)[j * 16:(j + 1) * 16]

    def load_initial_key(self, ipek, initial_ksn):
        """Load the IPEK and the initial KSN (its counter bits are ignored); counter 1; save."""
        if len(ipek) != 16 or len(initial_ksn) != KSN_LEN:
            raise DukptError("TDES DUKPT: IPEK of 16 bytes, KSN of 10")
        self.erase()
        self._base[:] = initial_ksn
        self._base[7] &= 0xE0
        self._base[8] = 0
        self._base[9] = 0
        for j in range(NUM_REG - 1, -1, -1):
            _set_counter(self._reg_ksn, self._base, 1 << j)
            nrkgp(ipek, self._reg_ksn, self._reg(j))
            self._in_use[j] = 1
        self._counter = 1
        self._loaded = True
        self.save()

    def _select(self):
        if not self._loaded:
            raise DukptError("no initial key loaded")
        c = self._counter
        while True:
            if c <= 0 or c > _COUNTER_MAX:
                self._counter = c
                raise DukptExhausted("encryption counter exhausted")
            i = 0
            while not (c >> i) & 1:
                i += 1
            if self._in_use[i]:
                self._counter = c
                return i
            c += 1 << i

    def ksn(self, out=None):
        """The KSN of the next transaction (10 bytes)."""
        self._select()
        if out is None:
            out = bytearray(KSN_LEN)
        _set_counter(out, self._base, self._counter)
        return out

    def generate_working_keys(self, usages, out, ksn=None):
        """One transaction: the working key of each usage (PIN, MAC_REQUEST, ... | OWF) into out, 16
        bytes each; then future keys, erase, advance, save. Returns the KSN."""
        i = self._select()
        ksn = self.ksn(ksn)
        cur = self._reg(i)
        try:
            o = 0
            for u in usages:
                if o + 16 > len(out):
                    raise DukptError("working key buffer too small")
                working_key(cur, u, memoryview(out)[o:o + 16])
                o += 16
            self._advance(i)
            self.save()
        except BaseException:
            wipe(out)
            raise
        return ksn

    def _advance(self, i):
        c = self._counter
        if count_one_bits(c) < MAX_WORK:
            cur = self._reg(i)
            for j in range(i - 1, -1, -1):
                _set_counter(self._reg_ksn, self._base, c | (1 << j))
                nrkgp(cur, self._reg_ksn, self._reg(j))
                self._in_use[j] = 1
            step = 1
        else:
            step = 1 << i
        wipe(self._reg(i))
        self._in_use[i] = 0
        self._counter = c + step

    def state(self):
        """'T', version 1, KSN register (initial KSN + counter), register bitmap (3 bytes), registers."""
        b = self._blob
        b[0] = 0x54
        b[1] = 1
        _set_counter(self._reg_ksn, self._base, self._counter & _COUNTER_MAX)
        b[2:12] = self._reg_ksn
        m = 0
        for j in range(NUM_REG):
            if self._in_use[j]:
                m |= 1 << j
        b[12] = m >> 16
        b[13] = (m >> 8) & 0xFF
        b[14] = m & 0xFF
        b[_STATE_HEAD:] = self._regs
        # a counter past the end is stored as 0 with no register in use: exhausted either way
        return b

    def restore(self, blob):
        if len(blob) != _STATE_HEAD + NUM_REG * 16 or blob[0] != 0x54 or blob[1] != 1:
            raise DukptError("not a TDES DUKPT state")
        self._base[:] = blob[2:12]
        self._counter = ksn_counter(self._base)
        self._base[7] &= 0xE0
        self._base[8] = 0
        self._base[9] = 0
        m = (blob[12] << 16) | (blob[13] << 8) | blob[14]
        for j in range(NUM_REG):
            self._in_use[j] = (m >> j) & 1
        self._regs[:] = blob[_STATE_HEAD:]
        self._loaded = True

    def erase(self):
        wipe(self._regs)
        wipe(self._in_use)
        wipe(self._blob)
        self._loaded = False
        self._counter = 0

    def __repr__(self):
        if not self._loaded:
            return "<TdesDukpt empty>"
        _set_counter(self._reg_ksn, self._base, self._counter & _COUNTER_MAX)
        return "<TdesDukpt next KSN=%s>" % hexu(self._reg_ksn)
