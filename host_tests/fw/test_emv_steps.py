# Kernel steps one by one, with a tiny portable fake card or no card at all: the APDU layer (T=0
# status words), cardholder verification, processing restrictions, terminal risk management,
# terminal action analysis, DE55 and the result object.
import asyncio
from binascii import unhexlify

from fwtest import raises
from wasl.emv import apdu, cvm, risk
from wasl.emv.apdu import Cancelled, CardError, CardRemoved
from wasl.emv.kernel import Kernel
from wasl.emv.result import DE55_TAGS, Result, build_de55

NOW = (2026, 7, 5, 10, 8, 7)
ACT = {"tac_denial": "0050000000", "tac_online": "DC4004F800", "tac_default": "DC4000A800"}
PARAMS = {"terminal_type": "22", "capabilities": "E06800", "ifd_serial": "WASL0001",
          "aids": [{"aid": "A0000000031010", "version": "0096", "floor_limit": 100000,
                    "tac_denial": ACT["tac_denial"], "tac_online": ACT["tac_online"],
                    "tac_default": ACT["tac_default"]}]}


def h(s):
    return unhexlify(s.replace(" ", ""))


def run(coro):
    return asyncio.run(coro)


class Script:
    """A fake transport: answers in order, records the commands."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    async def exchange(self, capdu):
        self.sent.append(bytes(capdu))
        a = self.answers.pop(0)
        if isinstance(a, BaseException) or (isinstance(a, type) and issubclass(a, BaseException)):
            raise a
        return h(a)


def kernel(amount=150000, pin=None, params=PARAMS, **icc):
    """A kernel with terminal data set and the card's data given as icc (tag int -> hex)."""
    k = Kernel(None, params, pin=pin, rng=lambda n: bytes(n))
    k._terminal_data(amount, NOW, 0x00, 0, 1)
    k.entry = params["aids"][0]
    k.floor_limit = k.entry.get("floor_limit", 0)
    k.term[0x9F09] = h(k.entry.get("version", "0096"))
    for t, v in icc.items():
        k.icc[int(t[1:], 16)] = h(v)
    return k


# ---- APDU layer ---------------------------------------------------------------------------------

def test_transmit_plain_and_status_words():
    t = Script("6F00 9000", "6A82")
    data, sw = run(apdu.transmit(t, apdu.select(b"1PAY.SYS.DDF01")))
    assert bytes(data) == h("6F00") and sw == 0x9000
    assert t.sent[0] == h("00A404000E") + b"1PAY.SYS.DDF01" + b"\x00"
    data, sw = run(apdu.transmit(t, apdu.read_record(1, 1)))
    assert bytes(data) == b"" and sw == 0x6A82


def test_transmit_t0_get_response_and_wrong_le():
    t = Script("6112", "770A8202 1C00 9404 08010100 9000", "6C05", "9F36020005 9000")
    data, sw = run(apdu.transmit(t, apdu.get_processing_options(b"")))
    assert sw == 0x9000 and bytes(data) == h("770A82021C00940408010100")
    assert t.sent[1] == h("00C0000012")
    data, sw = run(apdu.transmit(t, apdu.get_data(0x9F36)))
    assert t.sent[3] == h("80CA9F3605") and bytes(data) == h("9F36020005")


def test_transmit_chained_get_response():
    t = Script("6104", "AABBCCDD 6102", "EEFF 9000")
    data, sw = run(apdu.transmit(t, apdu.generate_ac(0x80, b"\x00")))
    assert bytes(data) == h("AABBCCDDEEFF") and sw == 0x9000


def test_transmit_errors():
    raises(CardError, run, apdu.transmit(Script("90"), b"\x00\xA4\x04\x00\x00"))
    e = raises(CardError, run, apdu.transmit(Script(OSError(5)), b"\x00\xA4\x04\x00\x00"))
    assert e.key == "card_read_error"
    e = raises(CardRemoved, run, apdu.transmit(Script(CardRemoved()), b"\x00\xA4\x04\x00\x00"))
    assert e.key == "card_removed"
    raises(CardError, run, apdu.transmit(Script(*(["6101"] * 12)), b"\x80\xAE\x80\x00\x01\x00\x00"))


def test_card_errors_are_track2_card_errors():
    from wasl.card import CardError as Track2CardError
    assert issubclass(CardError, Track2CardError) and issubclass(CardRemoved, Track2CardError)
    assert CardError("x").key == "card_read_error"


def test_commands():
    assert apdu.read_record(2, 1) == h("00B2011400")
    assert apdu.get_processing_options(h("0012")) == h("80A8000004 83020012 00")
    assert apdu.generate_ac(0x40, h("AA")) == h("80AE400001AA00")
    assert apdu.external_authenticate(h("1122334455667788 3030")) == h("008200000A 1122334455667788 3030")
    assert apdu.select(h("A0000000031010"), True) == h("00A4040207A000000003101000")


# ---- cardholder verification ----------------------------------------------------------------------

def _cvm(k):
    run(cvm.cardholder_verification(k))
    return k.term[0x9F34].hex().upper()


def test_cvm_online_pin_entered():
    asked = []

    async def pin(r):
        asked.append(r)
        return True

    k = kernel(pin=pin, i82="1C00", i8E="0000000000000000 4203 1E03 1F03")
    assert _cvm(k) == "420300"
    assert len(asked) == 1 and k.result.online_pin
    assert k.tvr[2] == 0x04 and k.tsi[0] & 0x40


def test_cvm_pin_bypassed_falls_to_signature():
    async def pin(r):
        return False

    k = kernel(pin=pin, i82="1C00", i8E="0000000000000000 4203 1E03 1F03")
    assert _cvm(k) == "1E0300"
    assert k.tvr[2] == 0x08 and k.result.signature and not k.result.online_pin


def test_cvm_no_pin_pad():
    k = kernel(pin=None, i82="1C00", i8E="0000000000000000 0203 1E03")
    assert _cvm(k) == "020301"              # online PIN failed and the rule says stop
    assert k.tvr[2] == 0x80 | 0x10


def test_cvm_pin_cancelled():
    async def pin(r):
        return None

    k = kernel(pin=pin, i82="1C00", i8E="0000000000000000 4203 1F03")
    raises(Cancelled, run, cvm.cardholder_verification(k))


def test_cvm_amount_conditions_in_application_currency():
    lst = "000186A0 00030D40 4207 5E09 1F00"     # X = 100000, Y = 200000
    async def pin(r):
        return True
    k = kernel(amount=150000, pin=pin, i82="1C00", i8E=lst, i9F42="0012")
    assert _cvm(k) == "420700"              # over X: online PIN
    k = kernel(amount=50000, pin=pin, i82="1C00", i8E=lst, i9F42="0012")
    assert _cvm(k) == "1F0002"              # under X, under Y: no CVM
    k = kernel(amount=250000, pin=None, i82="1C00", i8E=lst, i9F42="0012")
    assert _cvm(k) == "5E0900"              # PIN pad missing; over Y: signature
    k = kernel(amount=150000, pin=pin, i82="1C00", i8E=lst, i9F42="0840")
    assert _cvm(k) == "1F0002"              # another currency: X and Y rules skipped


def test_cvm_unrecognised_offline_pin_and_fail():
    k = kernel(i82="1C00", i8E="0000000000000000 4700 4100 0000")
    assert _cvm(k) == "000001"
    assert k.tvr[2] == 0x80 | 0x40 | 0x10   # failed, unrecognised (07), PIN pad for offline PIN (01)


def test_cvm_list_missing_or_not_supported():
    k = kernel(i82="1C00")
    assert _cvm(k) == "3F0000" and k.tvr[0] & 0x20
    k = kernel(i82="0C00", i8E="0000000000000000 4203")
    assert _cvm(k) == "3F0000" and not k.tsi[0] & 0x40
    k = kernel(i82="1C00", i8E="0000000000000000 4206")       # no condition met
    assert _cvm(k) == "3F0001" and k.tvr[2] & 0x80
    raises(CardError, run, cvm.cardholder_verification(kernel(i82="1C00", i8E="0000000000000000 420300")))


# ---- processing restrictions ------------------------------------------------------------------------

def test_restrictions_dates_and_version():
    k = kernel(i5F24="301231", i5F25="200101", i9F08="0096")
    risk.processing_restrictions(k)
    assert k.tvr[1] == 0
    k = kernel(i5F24="260704", i5F25="260706", i9F08="0002")
    risk.processing_restrictions(k)
    assert k.tvr[1] == 0x80 | 0x40 | 0x20
    k = kernel(i5F24="260705")              # expires today: still valid
    risk.processing_restrictions(k)
    assert k.tvr[1] == 0
    k = kernel(i5F24="491231", i5F25="500101")   # 2049 is valid, 1950 is effective
    risk.processing_restrictions(k)
    assert k.tvr[1] == 0
    raises(CardError, risk.processing_restrictions, kernel(i5F24="30AB31"))


def test_restrictions_usage_control():
    k = kernel(i5F24="301231", i9F07="FF00", i5F28="0012")
    risk.processing_restrictions(k)
    assert not k.tvr[1] & 0x10
    k = kernel(i5F24="301231", i9F07="AB00", i5F28="0250")     # international goods not allowed
    risk.processing_restrictions(k)
    assert k.tvr[1] & 0x10
    k = kernel(i5F24="301231", i9F07="FE00")                    # not valid at non-ATM terminals
    risk.processing_restrictions(k)
    assert k.tvr[1] & 0x10


# ---- terminal risk management and action analysis ------------------------------------------------------

def test_floor_limit_and_random_selection():
    k = kernel(amount=100000, i82="1C00")
    run(risk.terminal_risk_management(k))
    assert k.tvr[3] == 0x80 and k.tsi[0] & 0x08
    params = {"terminal_type": "22", "capabilities": "E06800",
              "aids": [dict(aid="A0000000031010", floor_limit=100000, target_percent=99, max_target_percent=99)]}
    k = kernel(amount=1000, params=params, i82="1C00")
    run(risk.terminal_risk_management(k))
    assert k.tvr[3] == 0x10                 # selected at random (99 %, the draw gives 1)
    k = kernel(amount=1000, i82="1400")     # AIP: no terminal risk management
    run(risk.terminal_risk_management(k))
    assert k.tvr[3] == 0 and not k.tsi[0] & 0x08


def test_velocity_checking():
    k = kernel(amount=1000, i82="1C00", i9F14="02", i9F23="04")
    k.transport = Script("9F3602000A 9000", "9F13020000 9000")
    run(risk.terminal_risk_management(k))
    assert k.tvr[3] == 0x40 | 0x20 and k.tvr[1] & 0x08      # 10 since last online: both; new card
    k = kernel(amount=1000, i82="1C00", i9F14="02", i9F23="04")
    k.transport = Script("6A88", "6A88")
    run(risk.terminal_risk_management(k))
    assert k.tvr[3] == 0x60 and not k.tvr[1] & 0x08


def test_terminal_action_analysis():
    k = kernel()
    assert risk.terminal_action_analysis(k) == risk.TC          # nothing in the TVR
    k.tvr[0] |= 0x80
    assert risk.terminal_action_analysis(k) == risk.ARQC        # TAC-online has ODA not performed
    k.tvr[1] |= 0x40
    assert risk.terminal_action_analysis(k) == risk.AAC         # TAC-denial has expired
    k = kernel(i9F0E="0000000000", i9F0F="0000000000", i9F0D="0000000000")
    k.entry = {"aid": "A0000000031010"}                          # no TACs at all
    k.tvr[0] |= 0x80
    assert risk.terminal_action_analysis(k) == risk.TC
    assert risk.terminal_action_analysis(k, unable_online=True) == risk.TC
    k.icc.pop(0x9F0D)                                            # IAC-default absent: all ones
    assert risk.terminal_action_analysis(k, unable_online=True) == risk.AAC
    off = dict(PARAMS, terminal_type="23")                       # offline-only terminal
    k = kernel(params=off)
    k.tvr[0] |= 0x80
    assert not k.online_capable()
    assert risk.terminal_action_analysis(k) == risk.AAC         # TAC-default has ODA not performed


# ---- DE55 and the result ---------------------------------------------------------------------------------

def test_build_de55_order_and_missing_tags():
    data = {0x9F27: b"\x80", 0x9F26: bytes(8), 0x95: bytes(5)}
    assert build_de55(data.get) == h("9F2608 0000000000000000 9F2701 80 9505 0000000000")
    assert build_de55(data.get, (0x95,)) == h("9505 0000000000")
    assert DE55_TAGS[0] == 0x9F26


def test_result_track2_and_wipe():
    r = Result("chip")
    r.track2 = bytearray(h("4761739001010010D30122011143804400000F"))
    r.pan = bytearray(h("4761739001010010"))
    assert r.track2_text() == "4761739001010010=30122011143804400000"
    assert r.masked_pan() == "476173******0010"
    c = r.card()
    assert (c.pan, c.expiry, c.service_code, c.entry) == ("4761739001010010", "3012", "201", "chip")
    r.track2 = None
    r.expiry = h("301231")
    r.service = h("0201")
    assert r.track2_text() == "4761739001010010=3012201"
    pan = r.pan
    r.wipe()
    assert pan == bytearray(8) and r.pan is None and r.pan_digits() == "" and r.track2_text() == ""
