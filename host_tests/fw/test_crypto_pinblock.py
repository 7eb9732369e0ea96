# wasl.crypto.pinblock: ISO 9564-1 formats 4 (AES) and 0 (TDES). Published examples.
from fwtest import raises
from wasl.crypto import pinblock
from wasl.crypto.pinblock import PinBlockError

H = bytes.fromhex

# ANSI X9.24-3-2017 supplement, ISO 9564-1 format 4 worked example: PIN 1234, PAN 4111111111111111,
# random fill 2F69ADDE2E9E7ACE, under the AES DUKPT PIN keys of counters 1 and 2 (test_crypto_dukpt_aes)
FILL = H("2F69ADDE2E9E7ACE")
PAN4 = "4111111111111111"
PIN_KEY_1 = H("AF8CB133A78F8DC2D1359F18527593FB")
PIN_KEY_2 = H("D30BDC73EC9714B000BEC66BDB7B6D09")


def test_format4_fields():
    f = pinblock.format4_pin_field(bytearray(b"1234"), bytearray(16), FILL)
    assert bytes(f) == H("441234AAAAAAAAAA2F69ADDE2E9E7ACE")
    assert bytes(pinblock.format4_pan_field(PAN4, bytearray(16))) == H("44111111111111111000000000000000")
    # 12 digits or fewer: M = 0, the PAN right-justified in 12 digits (ISO 9564-1 9.4.2)
    assert bytes(pinblock.format4_pan_field("123456789012", bytearray(16))) == H("01234567890120000000000000000000")
    assert bytes(pinblock.format4_pan_field("1234567", bytearray(16))) == H("00000012345670000000000000000000")
    assert bytes(pinblock.format4_pan_field(b"1234567890123456789", bytearray(16))) == \
        H("71234567890123456789000000000000")
    assert bytes(pinblock.format4_pan_field("4012345678909", bytearray(16))) == H("14012345678909000000000000000000")
    f = pinblock.format4_pin_field(b"123456789012", bytearray(16), FILL)
    assert bytes(f[:8]) == H("4C123456789012AA")


def test_format4_encipherment_published_example():
    blk = pinblock.encipher_format4(PIN_KEY_1, bytearray(b"1234"), PAN4, fill=FILL)
    assert bytes(blk) == H("A912150391AB65A67E52883D81CE2D15")
    blk = pinblock.encipher_format4(PIN_KEY_2, bytearray(b"1234"), PAN4, fill=FILL)
    assert bytes(blk) == H("52A00503BD34BA1383F6A7EE9FE2547F")


def test_format4_decipherment():
    pin = bytearray(12)
    assert pinblock.decipher_format4(PIN_KEY_1, H("A912150391AB65A67E52883D81CE2D15"), PAN4, pin) == 4
    assert pin[:4] == b"1234"
    # psec documentation example (psec.pinblock.decipher_pinblock_iso_4): key 00112233..., PAN
    # 1234567890123456, block E4BE5B623AF7E006AC319E5B93544564 -> PIN 1234
    pin = bytearray(12)
    n = pinblock.decipher_format4(H("00112233445566778899AABBCCDDEEFF"), H("E4BE5B623AF7E006AC319E5B93544564"),
                                  "1234567890123456", pin)
    assert pin[:n] == b"1234"


def test_format4_check_helper():
    blk = H("A912150391AB65A67E52883D81CE2D15")
    assert pinblock.check_format4(PIN_KEY_1, blk, PAN4, b"1234")
    assert not pinblock.check_format4(PIN_KEY_1, blk, PAN4, b"1235")
    assert not pinblock.check_format4(PIN_KEY_1, blk, PAN4, b"12345")
    assert not pinblock.check_format4(PIN_KEY_1, blk, "4111111111111112", b"1234")   # PAN bound in
    assert not pinblock.check_format4(PIN_KEY_2, blk, PAN4, b"1234")                 # other key


def test_format4_random_fill_differs_and_round_trips():
    a = pinblock.encipher_format4(PIN_KEY_1, b"987654", "5413330089020011")
    b = pinblock.encipher_format4(PIN_KEY_1, b"987654", "5413330089020011")
    assert a != b                      # 8 random bytes per block
    for blk in (a, b):
        assert pinblock.check_format4(PIN_KEY_1, blk, "5413330089020011", b"987654")


def test_format0_published_example():
    # ANSI X9.24-1-2009 A.4: PIN 1234, PAN 4012345678909 -> clear block 041274EDCBA9876F, which the
    # first transaction's PIN key (KSN FFFF9876543210E00001) enciphers to 1B9C1845EB993A7A
    assert bytes(pinblock.format0_block(b"1234", "4012345678909", bytearray(8))) == H("041274EDCBA9876F")
    key = H("042666B49184CF5C68DE9628D0397B36")     # transaction key 042666B4...7BC9 with the PIN variant
    assert bytes(pinblock.encipher_format0(key, bytearray(b"1234"), "4012345678909")) == H("1B9C1845EB993A7A")
    pin = bytearray(12)
    assert pinblock.decipher_format0(key, H("1B9C1845EB993A7A"), "4012345678909", pin) == 4
    assert pin[:4] == b"1234"
    assert pinblock.check_format0(key, H("1B9C1845EB993A7A"), "4012345678909", b"1234")
    assert pinblock.check_format0(key, H("1B9C1845EB993A7A"), "4012345678901", b"1234")   # check digit not used
    assert not pinblock.check_format0(key, H("1B9C1845EB993A7A"), "4012345678819", b"1234")


def test_bad_input_is_refused():
    raises(PinBlockError, pinblock.encipher_format4, PIN_KEY_1, b"123", PAN4)
    raises(PinBlockError, pinblock.encipher_format4, PIN_KEY_1, b"1234567890123", PAN4)
    raises(PinBlockError, pinblock.encipher_format4, PIN_KEY_1, b"12a4", PAN4)
    raises(PinBlockError, pinblock.encipher_format4, PIN_KEY_1, b"1234", "41111111111111111111")
    raises(PinBlockError, pinblock.encipher_format4, PIN_KEY_1, b"1234", "4111-1111")
    raises(PinBlockError, pinblock.encipher_format0, H("042666B49184CF5C68DE9628D0397B36"), b"1234", "123456789012")
    raises(PinBlockError, pinblock.decipher_format4, PIN_KEY_1, bytes(15), PAN4, bytearray(12))
    # a block that is not format 4 once deciphered: PinBlockError, and the PIN buffer stays empty
    pin = bytearray(12)
    raises(PinBlockError, pinblock.decipher_format4, PIN_KEY_2, H("A912150391AB65A67E52883D81CE2D15"), PAN4, pin)
    assert pin == bytearray(12)


def test_clear_pin_block_scratch_is_zeroed():
    pinblock.encipher_format4(PIN_KEY_1, b"1234", PAN4, fill=FILL)
    assert not any(pinblock._CLEAR) and not any(pinblock._PANF)
    raises(PinBlockError, pinblock.encipher_format4, PIN_KEY_1, b"1234", "12x")
    assert not any(pinblock._CLEAR)
    pinblock.decipher_format4(PIN_KEY_1, H("A912150391AB65A67E52883D81CE2D15"), PAN4, bytearray(12))
    assert not any(pinblock._CLEAR)
    pinblock.encipher_format0(H("042666B49184CF5C68DE9628D0397B36"), b"1234", "4012345678909")
    assert not any(pinblock._CLEAR) and not any(pinblock._PANF)
