# A PN532 (UM0701-02) on fakebus.FakeI2C (address 0x24) or behind a CS pin on fakebus.FakeSPI, with a
# scripted ISO/IEC 14443-4 card in its field.
#
# Host frames are checked (preamble, start code, LCS, DCS, TFI D4); a bad one is ignored (no ACK), as
# the chip does. A good one is ACKed, then answered: GetFirmwareVersion, SAMConfiguration,
# RFConfiguration (MaxRetries), InListPassiveTarget (106 kbps type A; with MxRtyPassiveActivation 0xFF
# and no card it never answers until the host aborts with an ACK), InDataExchange (Tg MI bit: command
# chaining; responses longer than max_data_in go out in pieces with the status MI bit, the host asks
# for each with an InDataExchange of Tg alone), InRelease, Diagnose 0x06 (card presence). A host NACK
# gets the last response again. Anything else: the syntax error frame 00 00 FF 01 FF 7F 81 00.
# I2C: a read returns the status byte (0x01 ready) then the frame; the frame is consumed by a read that
# covers it all. SPI: DW 0x01 / SR 0x02 / DR 0x03, bytes seen LSB first (lsb_first: fakebus reverses
# them when the bus is MSB first).
# Faults for the tests: corrupt (next N responses get a bad DCS; a NACK resend is good unless
# corrupt_resend), mute (ACKs, never answers), deaf (never even ACKs), bad_ack (sends a NACK frame
# where the ACK is due), error_next (answers the next command with the syntax error frame),
# status_next (the next InDataExchange gets that status byte, e.g. 0x02 CRC error).
_ACK = b"\x00\x00\xff\x00\xff\x00"
_NACK = b"\x00\x00\xff\xff\x00\x00"
_ERROR = b"\x00\x00\xff\x01\xff\x7f\x81\x00"


def frame(data):
    """A normal information frame around data (TFI included)."""
    n = len(data)
    return bytes((0, 0, 0xFF, n, (-n) & 0xFF)) + bytes(data) + bytes(((-sum(data)) & 0xFF, 0))


class ScriptedCard:
    """An ISO/IEC 14443-4 type A card answering APDUs from a script of (capdu, rapdu) in order."""

    def __init__(self, script=(), uid=b"\x04\xa1\xb2\xc3", ats=b"\x05\x78\x80\x70\x02", sel_res=0x20):
        self.script = list(script)
        self.uid = uid
        self.ats = ats
        self.sel_res = sel_res
        self.present = True
        self.received = []
        self.errors = []

    def apdu(self, c):
        c = bytes(c)
        self.received.append(c)
        if not self.script:
            self.errors.append("unexpected APDU %s" % c.hex())
            return b"\x6f\x00"
        want, r = self.script.pop(0)
        if c != want:
            self.errors.append("APDU %s, expected %s" % (c.hex(), want.hex()))
            return b"\x6f\x00"
        return r


class PN532Model:
    lsb_first = True

    def __init__(self, card=None, max_data_in=252, delay_polls=1):
        self.card = card
        self.max_data_in = max_data_in
        self.delay_polls = delay_polls
        self.out = []                 # frames ready to be read, in order
        self.last = None              # last response frame (for a NACK)
        self.polls = 0
        self.waiting = False          # InListPassiveTarget waiting for a card
        self.active = False           # a target is activated
        self.passive_retries = 0xFF
        self.cmd_acc = b""
        self.resp_rest = b""
        self.commands = []            # (command code, params) of each good host frame
        self.bad_frames = 0
        self.nacks = 0
        self.aborts = 0
        self.errors = []
        self.corrupt = 0
        self.corrupt_resend = False
        self.mute = False
        self.deaf = False
        self.bad_ack = False
        self.error_next = False
        self.status_next = 0          # an InDataExchange status error for the next exchange
        self._spi_op = None
        self._spi_in = bytearray()
        self._spi_pos = 0

    # ---- host frames ------------------------------------------------------------------------------

    def host_frame(self, data):
        data = bytes(data)
        if data == _ACK:
            self.aborts += 1
            self.waiting = False
            self.out = []
            return
        if data == _NACK:
            self.nacks += 1
            if self.last is not None and not self.deaf:
                self.out.append(self.last if not self.corrupt_resend else self._corrupted(self.last))
            return
        if len(data) < 8 or data[:3] != b"\x00\x00\xff":
            self.bad_frames += 1
            return
        n = data[3]
        if (n + data[4]) & 0xFF or len(data) != n + 7 or data[-1] != 0:
            self.bad_frames += 1
            return
        body = data[5:5 + n]
        if (sum(body) + data[5 + n]) & 0xFF or body[0] != 0xD4:
            self.bad_frames += 1
            return
        if self.deaf:
            return
        self.out.append(_ACK if not self.bad_ack else _NACK)
        self.polls = 0
        self.commands.append((body[1], bytes(body[2:])))
        if self.mute:
            return
        if self.error_next:
            self.error_next = False
            self._respond_raw(_ERROR)
            return
        self._run(body[1], body[2:])

    def _respond(self, data):
        self._respond_raw(frame(bytes((0xD5,)) + bytes(data)))

    def _respond_raw(self, f):
        self.last = f
        if self.corrupt:
            self.corrupt -= 1
            f = self._corrupted(f)
        self.out.append(f)

    def _corrupted(self, f):
        b = bytearray(f)
        b[-2] ^= 0x5A             # DCS
        return bytes(b)

    def _run(self, cmd, p):
        card = self.card
        if cmd == 0x02:                                   # GetFirmwareVersion
            self._respond(b"\x03\x32\x01\x06\x07")
        elif cmd == 0x14:                                 # SAMConfiguration
            self._respond(b"\x15")
        elif cmd == 0x32:                                 # RFConfiguration
            if p[0] == 0x05:
                self.passive_retries = p[3]
            self._respond(b"\x33")
        elif cmd == 0x4A:                                 # InListPassiveTarget
            if p[:2] != b"\x01\x00":
                self.errors.append("InListPassiveTarget %s" % bytes(p).hex())
            self.waiting = True
            self._list()
        elif cmd == 0x40:                                 # InDataExchange
            self._exchange(p[0], bytes(p[1:]))
        elif cmd == 0x52:                                 # InRelease
            self.active = False
            self._respond(b"\x53\x00")
        elif cmd == 0x00 and p[:1] == b"\x06":            # Diagnose: card presence
            ok = self.active and card is not None and card.present
            if not ok:
                self.active = False
            self._respond(b"\x01" + (b"\x00" if ok else b"\x01"))
        else:
            self._respond_raw(_ERROR)

    def _list(self):
        card = self.card
        if card is not None and card.present:
            self.waiting = False
            self.active = True
            self._respond(b"\x4b\x01\x01\x00\x04" + bytes((card.sel_res, len(card.uid))) + card.uid + card.ats)
        elif self.passive_retries != 0xFF:
            self.waiting = False
            self._respond(b"\x4b\x00")

    def _exchange(self, tg, data):
        card = self.card
        if not self.active or tg & 0x3F != 1:
            self._respond(b"\x41\x27")
            return
        if self.status_next:
            st, self.status_next = self.status_next, 0
            self._respond(bytes((0x41, st)))
            return
        if card is None or not card.present:
            self.active = False
            self.resp_rest = b""
            self._respond(b"\x41\x01")                    # time-out: the target has not answered
            return
        if self.resp_rest:
            if data:
                self.errors.append("new data while a chained response is pending")
                self.resp_rest = b""
            else:
                self._chunk()
                return
        if tg & 0x40:                                     # host has more: ISO-DEP chaining to the card
            self.cmd_acc += data
            self._respond(b"\x41\x00")
            return
        full = self.cmd_acc + data
        self.cmd_acc = b""
        self.resp_rest = card.apdu(full)
        self._chunk()

    def _chunk(self):
        part, self.resp_rest = self.resp_rest[:self.max_data_in], self.resp_rest[self.max_data_in:]
        self._respond(bytes((0x41, 0x40 if self.resp_rest else 0x00)) + part)

    # ---- readiness --------------------------------------------------------------------------------

    def _ready(self):
        if self.waiting:
            self._list()
        if not self.out:
            return False
        if self.out[0] is _ACK or self.out[0] is _NACK:
            return True
        self.polls += 1
        return self.polls > self.delay_polls

    # ---- I2C --------------------------------------------------------------------------------------

    def i2c_write(self, data):
        self.host_frame(data)

    def i2c_read(self, n):
        if not self._ready():
            return bytes(n)
        f = self.out[0]
        if n >= 1 + len(f):
            self.out.pop(0)
            self.polls = 0
        return (b"\x01" + f + bytes(n))[:n]

    # ---- SPI --------------------------------------------------------------------------------------

    def spi_cs(self, active):
        if active:
            self._spi_op = None
            self._spi_in = bytearray()
            self._spi_pos = 0
            return
        if self._spi_op == 0x01:
            self.host_frame(bytes(self._spi_in))
        elif self._spi_op == 0x03 and self.out and self._spi_pos >= len(self.out[0]):
            self.out.pop(0)
            self.polls = 0
        self._spi_op = None

    def spi_xfer(self, mosi):
        miso = bytearray(len(mosi))
        for i, b in enumerate(mosi):
            op = self._spi_op
            if op is None:
                self._spi_op = b
                if b not in (0x01, 0x02, 0x03):
                    self.errors.append("SPI operation 0x%02x" % b)
            elif op == 0x01:
                self._spi_in.append(b)
            elif op == 0x02:
                miso[i] = 0x01 if self._ready() else 0x00
            elif op == 0x03:
                f = self.out[0] if self.out else b""
                miso[i] = f[self._spi_pos] if self._spi_pos < len(f) else 0
                self._spi_pos += 1
        return bytes(miso)
