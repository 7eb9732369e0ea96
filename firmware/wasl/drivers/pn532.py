# NXP PN532 NFC controller as the contactless reader of the EMV kernel (ISO/IEC 14443-4 type A cards at
# 106 kbps), on I2C or SPI. References: "PN532 User Manual" UM0701-02 (section 6.2: frames and the
# host interfaces; section 7: commands; Table 7-1 for the status byte's error codes).
#
# Frames (UM0701-02 6.2.1): normal information frame 00 00 FF LEN LCS TFI PD0..PDn DCS 00, TFI D4 host
# to PN532, D5 back, LEN + LCS = 0 and TFI + PD... + DCS = 0 (mod 256); ACK 00 00 FF 00 FF 00 (also sent
# by the host to abort a command); NACK 00 00 FF FF 00 00 (the host asks for the last response again,
# after a checksum error). Each command is: frame out, ACK back, response frame back when ready.
# I2C (6.2.4, address 0x24): every read starts with a status byte, bit 0 = ready; the driver polls it
# with 1-byte reads, then reads the frame in one read. SPI (6.2.5, mode 0, LSB first on the wire): a
# transfer opens with DW 0x01 (data write), SR 0x02 (status read) or DR 0x03 (data read); an SPI
# configured MSB first (SoftSPI, most ports) gets its bytes bit-reversed here (lsb_first=False).
#
# The kernel's transport (wasl.emv.apdu): `async exchange(capdu) -> rapdu` (SW1 SW2 included) and
# `card_present`. Normal frames carry at most 252 APDU bytes, so a longer command is sent in chunks with
# the MI bit (0x40) of InDataExchange's Tg byte, and a response the PN532 could not fit has MI set in
# its status byte: the driver sends InDataExchange again until MI is clear. A 61xx status word is
# followed by GET RESPONSE here (the kernel never sees it). The card leaving (status 0x01 time-out,
# 0x2B card disappeared, 0x27 target gone) or no answer within exchange_timeout_ms raises CardRemoved;
# other failures raise OSError (the kernel reports a reader error). The answer is a memoryview of the
# driver's buffer, valid until the next exchange (the kernel copies what it keeps).
import asyncio

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

from wasl.events import sleep_ms, ticks_diff, ticks_ms   # the ports' tick functions, or their CPython stand-ins

_TFI_HOST = const(0xD4)
_TFI_PN532 = const(0xD5)
_ACK = const(b"\x00\x00\xff\x00\xff\x00")
_NACK = const(b"\x00\x00\xff\xff\x00\x00")

# Commands (UM0701-02 section 7.2)
_DIAGNOSE = const(0x00)
_GET_FIRMWARE_VERSION = const(0x02)
_SAM_CONFIGURATION = const(0x14)
_RF_CONFIGURATION = const(0x32)
_IN_DATA_EXCHANGE = const(0x40)
_IN_LIST_PASSIVE_TARGET = const(0x4A)
_IN_RELEASE = const(0x52)

_MI = const(0x40)                 # More Information: in Tg (host has more) and in Status (PN532 has more)
_MAX_DATA = const(252)            # APDU bytes in one normal frame: LEN 255 = TFI, cmd, Tg/Status, data
_SEL_RES_ISO14443_4 = const(0x20)
_MAX_ROUNDS = const(16)           # InDataExchange continuations or GET RESPONSE rounds for one APDU

# SPI operations (UM0701-02 6.2.5)
_DW = const(0x01)
_SR = const(0x02)
_DR = const(0x03)

_EIO = const(5)
_ENODEV = const(19)
_ETIMEDOUT = const(110)

# reverse the bits of a nibble, for LSB-first SPI on an MSB-first bus
_NIB = const(b"\x00\x08\x04\x0c\x02\x0a\x06\x0e\x01\x09\x05\x0d\x03\x0b\x07\x0f")


def _reverse(buf, a, b):
    for i in range(a, b):
        v = buf[i]
        buf[i] = (_NIB[v & 15] << 4) | _NIB[v >> 4]


def _gone(why):
    from wasl.emv.apdu import CardRemoved

    return CardRemoved(why)


class PN532I2C:
    """The I2C host interface. The frame to write is tx[1:1 + n]; a read lands in rx, status byte in
    rx[0], frame from rx[1]."""

    def __init__(self, i2c, addr=0x24):
        self.i2c = i2c
        self.addr = addr
        self._st = bytearray(1)

    def write(self, tx, n):
        self.i2c.writeto(self.addr, memoryview(tx)[1:1 + n])

    def ready(self):
        try:
            self.i2c.readfrom_into(self.addr, self._st)
        except OSError:           # a busy PN532 may not acknowledge its address
            return False
        return self._st[0] & 1

    def read(self, rx, n):
        self.i2c.readfrom_into(self.addr, memoryview(rx)[:1 + n])
        return rx[0] & 1


class PN532SPI:
    """The SPI host interface: CS low around each DW / SR / DR transfer."""

    def __init__(self, spi, cs, lsb_first=False):
        self.spi = spi
        self.cs = cs
        self.rev = not lsb_first
        self._b = bytearray(1)
        cs.value(1)

    def _op(self, op):
        b = self._b
        b[0] = op
        if self.rev:
            _reverse(b, 0, 1)
        self.cs.value(0)
        self.spi.write(b)

    def write(self, tx, n):
        tx[0] = _DW
        if self.rev:
            _reverse(tx, 0, 1 + n)
        self.cs.value(0)
        try:
            self.spi.write(memoryview(tx)[:1 + n])
        finally:
            self.cs.value(1)

    def ready(self):
        b = self._b
        try:
            self._op(_SR)
            self.spi.readinto(b)
        finally:
            self.cs.value(1)
        if self.rev:
            _reverse(b, 0, 1)
        return b[0] & 1

    def read(self, rx, n):
        """Header first (5 bytes: 00 00 FF LEN LCS), then exactly the rest of that frame."""
        mv = memoryview(rx)
        try:
            self._op(_DR)
            self.spi.readinto(mv[1:6])
            if self.rev:
                _reverse(rx, 1, 6)
            ln, lcs = rx[4], rx[5]
            more = 1 if (ln == 0 and lcs == 0xFF) or (ln == 0xFF and lcs == 0) else ln + 2
            more = min(more, len(rx) - 6, n - 5)
            if more > 0:
                self.spi.readinto(mv[6:6 + more])
                if self.rev:
                    _reverse(rx, 6, 6 + more)
        finally:
            self.cs.value(1)
        rx[0] = 1
        return 1


class PN532:
    def __init__(self, bus, ack_timeout_ms=100, response_timeout_ms=1000, exchange_timeout_ms=2000,
                 detect_timeout_ms=300, poll_ms=2, max_chunk=_MAX_DATA, max_response=512, passive_retries=2,
                 retries=2):
        self.bus = bus
        self.ack_timeout_ms = ack_timeout_ms
        self.response_timeout_ms = response_timeout_ms
        self.exchange_timeout_ms = exchange_timeout_ms
        self.detect_timeout_ms = detect_timeout_ms
        self.poll_ms = poll_ms
        self.max_chunk = min(max_chunk, _MAX_DATA)
        self.passive_retries = passive_retries
        self.retries = retries
        self._tx = bytearray(1 + 7 + 255)     # [SPI op] 00 00 FF LEN LCS TFI cmd params... DCS 00
        self._rx = bytearray(1 + 9 + 255)     # [I2C status] frame (with room for extra preamble bytes)
        self._out = bytearray(max_response)
        self._gr = bytearray(b"\x00\xc0\x00\x00\x00")   # GET RESPONSE, Le filled in
        self._lock = asyncio.Lock()
        self._last = ticks_ms()
        self.card_present = False
        self.tg = 1
        self.uid = b""
        self.ats = b""
        self.firmware = None

    # ---- frames -----------------------------------------------------------------------------------

    async def _wait_ready(self, timeout_ms):
        t0 = ticks_ms()
        while not self.bus.ready():
            if ticks_diff(ticks_ms(), t0) >= timeout_ms:
                return False
            await sleep_ms(self.poll_ms)
        return True

    def _send_const(self, frame):
        tx = self._tx
        for i in range(6):
            tx[1 + i] = frame[i]
        self.bus.write(tx, 6)

    def _start(self):
        """Index in rx of the frame's LEN byte (after 00 FF, extra preamble zeros allowed), or -1."""
        rx = self._rx
        for k in range(1, 5):
            if rx[k] == 0 and rx[k + 1] == 0xFF:
                return k + 2
        return -1

    async def _command(self, cmd, nparams, timeout_ms, maxlen=255):
        """Send a command whose parameters are at tx[8:8 + nparams]; return (index of the first
        response parameter in rx, number of response parameters). OSError(ETIMEDOUT) after an ACK abort
        when no response comes in timeout_ms; OSError(EIO) for a missing ACK, an error frame, a wrong
        response, or a checksum still bad after `retries` NACKs."""
        tx = self._tx
        n = 2 + nparams
        tx[1] = 0x00                           # preamble
        tx[2] = 0x00                           # start code
        tx[3] = 0xFF
        tx[4] = n                              # LEN
        tx[5] = (0x100 - n) & 0xFF             # LCS
        tx[6] = _TFI_HOST
        tx[7] = cmd
        s = 0
        for i in range(6, 6 + n):
            s += tx[i]
        tx[6 + n] = (0x100 - (s & 0xFF)) & 0xFF   # DCS
        tx[7 + n] = 0x00                       # postamble
        self.bus.write(tx, 7 + n)
        if not await self._wait_ready(self.ack_timeout_ms):
            raise OSError(_ETIMEDOUT, "PN532: no ACK")
        rx = self._rx
        self.bus.read(rx, 6)
        k = self._start()
        if k < 0 or rx[k] != 0 or rx[k + 1] != 0xFF:
            raise OSError(_EIO, "PN532: no ACK")
        for attempt in range(self.retries + 1):
            if not await self._wait_ready(timeout_ms):
                self._send_const(_ACK)         # abort the command (UM0701-02 6.2.1.3)
                raise OSError(_ETIMEDOUT, "PN532: no response")
            if not self.bus.read(rx, maxlen + 8):
                continue
            k = self._start()
            ln = rx[k] if k > 0 else 0
            if k > 0 and (ln + rx[k + 1]) & 0xFF == 0 and ln >= 1 and k + 3 + ln <= len(rx):
                if ln == 1 and rx[k + 2] == 0x7F:
                    raise OSError(_EIO, "PN532: error frame (syntax error)")
                s = 0
                for i in range(k + 2, k + 3 + ln):
                    s += rx[i]
                if s & 0xFF == 0:
                    if ln < 2 or rx[k + 2] != _TFI_PN532 or rx[k + 3] != cmd + 1:
                        raise OSError(_EIO, "PN532: unexpected response")
                    return k + 4, ln - 2
            if attempt < self.retries:
                self._send_const(_NACK)        # checksum error: send the response again
        raise OSError(_EIO, "PN532: bad checksum")

    # ---- set-up ---------------------------------------------------------------------------------

    async def begin(self):
        """GetFirmwareVersion (the first command also wakes the chip up: tried twice), SAMConfiguration
        normal mode, RFConfiguration MaxRetries so InListPassiveTarget gives up when no card is there.
        Returns (IC, Ver, Rev, Support); OSError(ENODEV) when it is not a PN532."""
        async with self._lock:
            for attempt in range(2):
                try:
                    off, n = await self._command(_GET_FIRMWARE_VERSION, 0, self.response_timeout_ms, 6)
                    break
                except OSError as e:
                    if attempt or e.args[0] != _ETIMEDOUT:
                        raise
            rx = self._rx
            if n != 4 or rx[off] != 0x32:
                raise OSError(_ENODEV, "not a PN532")
            self.firmware = (rx[off], rx[off + 1], rx[off + 2], rx[off + 3])
            tx = self._tx
            tx[8] = 0x01          # Mode: normal (no SAM)
            tx[9] = 0x14          # Timeout: 20 x 50 ms (virtual card mode only)
            tx[10] = 0x01         # use the IRQ pin
            await self._command(_SAM_CONFIGURATION, 3, self.response_timeout_ms, 4)
            tx[8] = 0x05          # CfgItem 5: MaxRetries
            tx[9] = 0xFF          # MxRtyATR (default)
            tx[10] = 0x01         # MxRtyPSL (default)
            tx[11] = self.passive_retries   # MxRtyPassiveActivation (0xFF: wait for a card forever)
            await self._command(_RF_CONFIGURATION, 4, self.response_timeout_ms, 4)
        return self.firmware

    # ---- card presence ----------------------------------------------------------------------------

    async def detect(self, timeout_ms=None):
        """InListPassiveTarget, one ISO/IEC 14443 type A target at 106 kbps. True when a card that
        speaks ISO/IEC 14443-4 was activated (the PN532 sends RATS itself); its UID and ATS are kept
        (never logged; no card data in them). A card without ISO 14443-4 (e.g. MIFARE Classic) is
        released and ignored."""
        async with self._lock:
            tx = self._tx
            tx[8] = 0x01          # MaxTg
            tx[9] = 0x00          # BrTy: 106 kbps type A
            try:
                off, n = await self._command(_IN_LIST_PASSIVE_TARGET, 2,
                                             timeout_ms or self.detect_timeout_ms, 64)
            except OSError as e:
                if e.args[0] == _ETIMEDOUT:
                    return False
                raise
            rx = self._rx
            if n < 6 or rx[off] == 0:
                return False
            idlen = rx[off + 5]
            if not rx[off + 4] & _SEL_RES_ISO14443_4:
                await self._release()
                return False
            self.tg = rx[off + 1]
            a = off + 6 + idlen
            self.uid = bytes(rx[off + 6:a])
            self.ats = bytes(rx[a:off + n])
            self.card_present = True
            self._last = ticks_ms()
            return True

    async def check_present(self):
        """Diagnose, NumTst 0x06 (ISO/IEC 14443-4 card presence detection): False once the card left."""
        async with self._lock:
            self._tx[8] = 0x06
            try:
                off, n = await self._command(_DIAGNOSE, 1, self.response_timeout_ms, 8)
                gone = n < 1 or self._rx[off] != 0x00
            except OSError:
                gone = True
            if gone:
                self.card_present = False
            self._last = ticks_ms()
            return self.card_present

    async def release(self):
        """InRelease of every target (after a transaction)."""
        async with self._lock:
            await self._release()

    async def _release(self):
        self._tx[8] = 0x00
        self.card_present = False
        await self._command(_IN_RELEASE, 1, self.response_timeout_ms, 8)

    async def watch(self, events, period_ms=250, presence_ms=500):
        """The board's reader task: posts ("card", {"entry": "tap"}) when a card is activated and
        ("card_removed",) once it has gone (a failed exchange, or the presence check when idle)."""
        announced = False
        while True:
            try:
                if not self.card_present:
                    if await self.detect():
                        events.post(("card", {"entry": "tap"}))
                        announced = True
                elif ticks_diff(ticks_ms(), self._last) >= presence_ms:
                    await self.check_present()
            except OSError as e:
                from wasl import log

                log.warn("pn532", "reader: %r", e)
            if announced and not self.card_present:
                events.post(("card_removed",))
                announced = False
            await sleep_ms(period_ms)

    # ---- APDUs ------------------------------------------------------------------------------------

    async def exchange(self, capdu):
        """Send a command APDU, return the response APDU with SW1 SW2 (a memoryview, valid until the next
        exchange). GET RESPONSE follows 61xx. Raises CardRemoved or OSError."""
        if not self.card_present:
            raise _gone("no card")
        async with self._lock:
            try:
                n = await self._apdu(capdu, 0)
                out = self._out
                for _ in range(_MAX_ROUNDS):
                    if n < 2 or out[n - 2] != 0x61:
                        break
                    self._gr[4] = out[n - 1]
                    n = await self._apdu(self._gr, n - 2)
                else:
                    raise OSError(_EIO, "endless GET RESPONSE")
            except OSError as e:
                if e.args[0] == _ETIMEDOUT:
                    self.card_present = False
                    raise _gone("no answer")
                raise
            finally:
                self._last = ticks_ms()
        return memoryview(self._out)[:n]

    def _status(self, off, n):
        """The InDataExchange status byte; raise for its errors (UM0701-02 Table 7-1)."""
        if n < 1:
            raise OSError(_EIO, "PN532: no status")
        st = self._rx[off]
        err = st & 0x3F
        if err in (0x01, 0x2B, 0x27):      # time-out: no answer; card disappeared; target gone
            self.card_present = False
            raise _gone("card left the field (0x%02x)" % err)
        if err:
            raise OSError(_EIO, "PN532 status 0x%02x" % err)
        return st

    async def _apdu(self, capdu, at):
        """One APDU through InDataExchange (chained both ways); its answer goes to out[at:]. Returns
        the answer's end in out."""
        tx = self._tx
        rx = self._rx
        total = len(capdu)
        i = 0
        while True:                                   # command: chunks with MI while more follow
            m = min(self.max_chunk, total - i)
            last = i + m >= total
            tx[8] = self.tg | (0 if last else _MI)
            for j in range(m):
                tx[9 + j] = capdu[i + j]
            off, n = await self._command(_IN_DATA_EXCHANGE, 1 + m, self.exchange_timeout_ms)
            st = self._status(off, n)
            i += m
            if last:
                break
        out = self._out
        for _ in range(_MAX_ROUNDS):                  # response: ask again while MI is set
            k = n - 1
            if at + k > len(out):
                raise OSError(_EIO, "response longer than %d bytes" % len(out))
            for j in range(k):
                out[at + j] = rx[off + 1 + j]
            at += k
            if not st & _MI:
                return at
            tx[8] = self.tg
            off, n = await self._command(_IN_DATA_EXCHANGE, 1, self.exchange_timeout_ms)
            st = self._status(off, n)
        raise OSError(_EIO, "endless response chaining")
