# wasl.crypto.dukpt_aes: ANSI X9.24-3-2017 AES DUKPT, terminal side, against the published vectors:
# X9.24-3-2017 Annex B and the ASC X9 "X9.24 Part 3 test vectors" supplement (x9.org), as reproduced in
# openemv/dukpt test/dukpt_aes128_test.c, dukpt_aes_test.c and paysec-dukpt's working-key tests.
from fwtest import raises
from wasl.crypto import dukpt_aes as d
from wasl.crypto.pinblock import encipher_format4
from wasl.crypto.util import put_u32

H = bytes.fromhex
BDK = H("FEDCBA9876543210F1F1F1F1F1F1F1F1")
IKID = H("1234567890123456")
IK = H("1273671EA26AC29AFA4D1084127652A1")
A128 = d.KEY_AES128

# supplement: intermediate derivation ("transaction") keys of the first eight counters
IDK = ("4F21B565BAD9835E112B6465635EAE44", "2F34D68DE10F68D38091A73B9E7C437C", "031504E530365CF81264238540518318",
       "0EEFC7ADA628BA68878DA9165A8A1887", "C2A7AC328A5DA2D6002D62465BFC028B", "D30F7D9351DA58448A2F5E92B4EE3B7D",
       "A8253CEED9AC042C54F75D35C8352278", "718EE6CF0B27E53D5F7AF99C4D8146A2")
# supplement: AES-128 working keys (PIN encryption, MAC generation, data encryption/encrypt) by counter
WORKING = {
    0x00000001: ("AF8CB133A78F8DC2D1359F18527593FB", "A2DC23DE6FDE0824A2BC321E08E4B8B7",
                 "A35C412EFD41FDB98B69797C02DCD08F"),
    0x00000002: ("D30BDC73EC9714B000BEC66BDB7B6D09", "484C3B06E8562704528CD5B46FB12FB6",
                 "D639514AA33AC43AD9229E433D6D4E5B"),
    0x00000003: ("7D69F01F3B45449F62C7816ECE723268", "A5DF7D9D800CA769766F0C77CA4E6E6C",
                 "EF17F6AB45B4820C93A3DCB21BC491AD"),
    0x00000004: ("91A0588318EC2673214271F70137896E", "E6E4679647D8A9057C1FC15537CB4C4E",
                 "B3BD44C08BB6BA27C3BB4711D7D70387"),
    0x00000005: ("35A43BC9EFEB09C756204B57E3FB7D4D", "0588185FE1FF8C7E22FAD78C1C61F065",
                 "CA02DF6F30B39E14BD0B4A30E460920F"),
    0x00000008: ("4D9DF3FBEE3448FC3E676D04320A90F5", "6FD572E5D59E618875F193484F9178FB",
                 "650F34204ABD4E57764D61AC3D266FB1"),
    0x0001FFFE: ("DDF7E08A84B5478C498D007C743BF762", "6D7623AD652734B8FAE1B6E093EACE3D",
                 "8E4E5D5E0F01C54F01F4ACA1C8F8EDCE"),
    0x00020000: ("AB828BE7B58C7EC5D5ED0D5D320A0C9D", "0B59D3D7D93028D97135FB895CACE24E",
                 "13361208975755318FE7AE28C9616014"),
}
THREE = ((d.USAGE_PIN_ENCRYPTION, A128), (d.USAGE_MAC_GENERATION, A128), (d.USAGE_DATA_ENCRYPT, A128))


class MemStorage:
    def __init__(self, fail=False):
        self.saved = []
        self.fail = fail

    def save(self, blob):
        if self.fail:
            raise OSError(28)
        self.saved.append(bytes(blob))

    def load(self):
        return self.saved[-1] if self.saved else None


def _rightmost(c):
    i = 0
    while not (c >> i) & 1:
        i += 1
    return i


def state_at(ik, ikid, counter):
    """The state a terminal holds when `counter` is its next transaction, built with the receiving-side
    derivation: register j holds the key of (counter's bits above j) + bit j, for the rightmost one bit
    of counter and for every zero bit above it; the others are empty."""
    k = len(ik)
    r = _rightmost(counter)
    blob = bytearray(19 + 32 * k)
    blob[0] = 0x41
    blob[1] = 1
    blob[2] = d.KEY_AES128 if k == 16 else d.KEY_AES256
    blob[3:11] = ikid
    put_u32(blob, 11, counter)
    m = 0
    for j in range(32):
        if j == r or (j > r and not (counter >> j) & 1):
            c = (counter & ~((1 << (j + 1)) - 1)) | (1 << j)
            blob[19 + j * k:19 + (j + 1) * k] = d.intermediate_derivation_key(ik, ikid, c)
            m |= 1 << j
    put_u32(blob, 15, m)
    return blob


def test_derivation_data_layout():
    # X9.24-3 6.3.2 tables 2 and 3
    assert bytes(d.derivation_data(d.USAGE_KEY_DERIVATION_INITIAL_KEY, A128, IKID, 0, bytearray(16))) == \
        H("01018001000200801234567890123456")
    assert bytes(d.derivation_data(d.USAGE_PIN_ENCRYPTION, A128, IKID, 1, bytearray(16))) == \
        H("01011000000200809012345600000001")
    assert bytes(d.derivation_data(d.USAGE_PIN_ENCRYPTION, d.KEY_AES256, IKID, 1, bytearray(16))) == \
        H("01011000000401009012345600000001")
    assert bytes(d.derivation_data(d.USAGE_MAC_GENERATION, d.KEY_2TDEA, IKID, 0xFFFFFFFF, bytearray(16))) == \
        H("0101200000000080901234 56FFFFFFFF".replace(" ", ""))


def test_initial_key_from_bdk():
    # X9.24-3-2017 B.1 (AES-128) and the supplement (AES-256 BDK = the AES-128 BDK twice)
    assert bytes(d.derive_initial_key(BDK, IKID)) == IK
    assert bytes(d.derive_initial_key(BDK + BDK, IKID)) == H(
        "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F")
    raises(d.DukptError, d.derive_initial_key, BDK[:12] + BDK, IKID)       # AES-192: not in cryptolib


def test_receiving_side_intermediate_keys():
    for i, k in enumerate(IDK):
        assert bytes(d.intermediate_derivation_key(IK, IKID, i + 1)) == H(k), i + 1
    # supplement: rollover counters (0x1FFFF, 17 one bits, is skipped by terminals) and the last four
    for c, k in ((0x1FFFE, "E21E8C8D347F8561A2BE752DAA85A111"), (0x20000, "F7AE9025468A25D37B7249CFFED224C8"),
                 (0x20001, "692C8EA4013645135B36497131DF9D2C"), (0xFFFE2000, "48E585B694EB0B18D5C35443E163C0BA"),
                 (0xFFFE4000, "396C2C7CA1EA701C03B86B7D41F0C562"), (0xFFFE8000, "0387625F189B58AE03EF0E8CCA41105E"),
                 (0xFFFF0000, "F6BA59389BD14A9855BE9727E7C52E3C")):
        assert bytes(d.intermediate_derivation_key(IK, IKID, c)) == H(k), hex(c)


def test_all_working_key_usages_of_counter_1():
    # supplement (AES-128 BDK, counter 1): every key usage of X9.24-3 6.3.2
    idk = H(IDK[0])
    for usage, key in ((d.USAGE_KEY_ENCRYPTION, "36A724B7BEFA5A25F5E7B5782A4554A2"),
                       (d.USAGE_PIN_ENCRYPTION, "AF8CB133A78F8DC2D1359F18527593FB"),
                       (d.USAGE_MAC_GENERATION, "A2DC23DE6FDE0824A2BC321E08E4B8B7"),
                       (d.USAGE_MAC_VERIFICATION, "DBB463945B286C07CD3AD82EE96FD9C9"),
                       (d.USAGE_MAC_BOTH_WAYS, "85675439D18D7F1158BD8E3EAA3D502B"),
                       (d.USAGE_DATA_ENCRYPT, "A35C412EFD41FDB98B69797C02DCD08F"),
                       (d.USAGE_DATA_DECRYPT, "16292C6EA8F64C5420A0584BFBC577BE"),
                       (d.USAGE_DATA_BOTH_WAYS, "A308E080DD15A1B741F1721BF67DE11C"),
                       (d.USAGE_KEY_DERIVATION, "30E54D3C69B22501A7FC43969D81D5C0")):
        assert bytes(d.working_key(idk, usage, A128, IKID, 1)) == H(key), hex(usage)


def test_terminal_load_fills_the_future_key_registers():
    t = d.AesDukpt()
    t.load_initial_key(IK, IKID)
    # register j holds the key of counter 1 << j: counters 1, 2, 4, 8 are published
    for j, i in ((0, 0), (1, 1), (2, 3), (3, 7)):
        assert bytes(t._reg(j)) == H(IDK[i])
    assert all(t._in_use)
    assert t.counter == 1
    assert bytes(t.ksn()) == H("123456789012345600000001")


def test_terminal_first_transactions_published_keys():
    st = MemStorage()
    t = d.AesDukpt(st)
    t.load_initial_key(IK, IKID)
    out = bytearray(48)
    for c in range(1, 9):
        ksn = t.generate_working_keys(THREE, out)
        assert bytes(ksn) == IKID + bytes((0, 0, 0, c))
        if c in WORKING:
            pin, mac, data = WORKING[c]
            assert bytes(out) == H(pin + mac + data), c
        else:   # counters 6, 7: the working keys of the published intermediate keys
            assert bytes(out[:16]) == bytes(d.working_key(H(IDK[c - 1]), d.USAGE_PIN_ENCRYPTION, A128, IKID, c))
    # the used register is erased; after counter 2 register 0 holds counter 3's key (the supplement's 031504E5)
    assert t.counter == 9
    assert len(st.saved) == 9    # load + each transaction


def test_terminal_format4_pin_blocks_of_the_supplement():
    # the X9.24-3 supplement's format 4 example through the terminal: counters 1 and 2
    t = d.AesDukpt()
    t.load_initial_key(IK, IKID)
    key = bytearray(16)
    for expected in ("A912150391AB65A67E52883D81CE2D15", "52A00503BD34BA1383F6A7EE9FE2547F"):
        t.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, A128),), key)
        blk = encipher_format4(key, bytearray(b"1234"), "4111111111111111", fill=H("2F69ADDE2E9E7ACE"))
        assert bytes(blk) == H(expected)


def test_register_contents_follow_the_counter():
    t = d.AesDukpt()
    t.load_initial_key(IK, IKID)
    out = bytearray(16)
    t.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, A128),), out)    # counter 1
    assert not t._in_use[0] and not any(t._reg(0))
    t.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, A128),), out)    # counter 2: future key 3 into register 0
    assert not t._in_use[1] and not any(t._reg(1))
    assert t._in_use[0] and bytes(t._reg(0)) == H(IDK[2])
    assert bytes(t.state()) == bytes(state_at(IK, IKID, 3))


def test_rollover_skips_counters_with_more_than_16_one_bits():
    # supplement: 0x1FFFE -> 0x20000 -> 0x20001 (0x1FFFF has 17 one bits)
    t = d.AesDukpt()
    t.restore(state_at(IK, IKID, 0x1FFFE))
    out = bytearray(48)
    seen = []
    for _ in range(3):
        ksn = t.generate_working_keys(THREE, out)
        c = int.from_bytes(bytes(ksn[8:]), "big")
        seen.append(c)
        if c in WORKING:
            assert bytes(out) == H("".join(WORKING[c])), hex(c)
    assert seen == [0x1FFFE, 0x20000, 0x20001]
    assert bytes(t.state()) == bytes(state_at(IK, IKID, 0x20002))


def test_last_counters_then_exhausted():
    # supplement: the last four transaction counters, then nothing
    t = d.AesDukpt()
    t.restore(state_at(IK, IKID, 0xFFFE2000))
    out = bytearray(16)
    for c, idk in ((0xFFFE2000, "48E585B694EB0B18D5C35443E163C0BA"), (0xFFFE4000, "396C2C7CA1EA701C03B86B7D41F0C562"),
                   (0xFFFE8000, "0387625F189B58AE03EF0E8CCA41105E"), (0xFFFF0000, "F6BA59389BD14A9855BE9727E7C52E3C")):
        ksn = t.generate_working_keys(((d.USAGE_MAC_GENERATION, A128),), out)
        assert int.from_bytes(bytes(ksn[8:]), "big") == c
        assert bytes(out) == bytes(d.working_key(H(idk), d.USAGE_MAC_GENERATION, A128, IKID, c))
    raises(d.DukptExhausted, t.generate_working_keys, ((d.USAGE_MAC_GENERATION, A128),), out)
    raises(d.DukptExhausted, t.ksn)
    assert not any(t._in_use)


def test_counter_validity():
    assert d.counter_valid(1) and d.counter_valid(0xFFFF0000) and d.counter_valid(0x1FFFE)
    assert not d.counter_valid(0) and not d.counter_valid(0x1FFFF) and not d.counter_valid(0x100000000)
    assert d.count_one_bits(0xFFFE2000) == 16


def test_aes256_initial_key_and_working_keys():
    # supplement, AES-256 BDK: AES-256 and AES-128 working keys of counter 1
    ik = d.derive_initial_key(BDK + BDK, IKID)
    t = d.AesDukpt()
    t.load_initial_key(ik, IKID)
    out = bytearray(32 + 32 + 16)
    t.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, d.KEY_AES256), (d.USAGE_MAC_GENERATION, d.KEY_AES256),
                             (d.USAGE_PIN_ENCRYPTION, A128)), out)
    assert bytes(out[:32]) == H("8C1AB7BEE973829E30242E0BBBDD4946D540C98FC1B5BDCF94790001A23FD502")
    assert bytes(out[32:64]) == H("61DABDF4B340CF461EE860B1D1AB55357142BD2D6977306859CF49AEFE8F1549")
    assert bytes(out[64:]) == H("09C9C432966811D6B2C3336BAC1B1202")


def test_working_keys_never_stronger_than_the_derivation_key():
    t = d.AesDukpt()
    t.load_initial_key(IK, IKID)
    out = bytearray(32)
    raises(d.DukptError, t.generate_working_keys, ((d.USAGE_PIN_ENCRYPTION, d.KEY_AES256),), out)
    assert out == bytearray(32)
    # 2TDEA / 3TDEA working keys are allowed (16 and 24 bytes of key material)
    t.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, d.KEY_2TDEA), (d.USAGE_PIN_ENCRYPTION, d.KEY_3TDEA)),
                            bytearray(40))


def test_state_is_saved_before_keys_are_returned_and_survives_a_restart():
    st = MemStorage()
    t = d.AesDukpt(st)
    t.load_initial_key(IK, IKID)
    out = bytearray(16)
    t.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, A128),), out)
    t2 = d.AesDukpt(st)        # a reboot
    assert t2.load()
    assert bytes(t2.ksn()) == H("123456789012345600000002")
    t2.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, A128),), out)
    assert bytes(out) == H(WORKING[2][0])
    assert st.saved[-1] == bytes(state_at(IK, IKID, 3))


def test_a_failed_save_returns_no_key_and_never_reuses_the_counter():
    st = MemStorage()
    t = d.AesDukpt(st)
    t.load_initial_key(IK, IKID)
    st.fail = True
    out = bytearray(16)
    raises(OSError, t.generate_working_keys, ((d.USAGE_PIN_ENCRYPTION, A128),), out)
    assert out == bytearray(16)
    st.fail = False
    ksn = t.generate_working_keys(((d.USAGE_PIN_ENCRYPTION, A128),), out)
    assert ksn[-1] == 2


def test_restore_refuses_foreign_states_and_erase_forgets():
    t = d.AesDukpt()
    raises(d.DukptError, t.restore, b"T\x01" + bytes(40))
    blob = state_at(IK, IKID, 5)
    raises(d.DukptError, t.restore, blob[:-1])
    raises(d.DukptError, t.generate_working_keys, THREE, bytearray(48))     # nothing loaded
    t.restore(blob)
    assert "AES-128" in repr(t) and "1234567890123456" in repr(t)
    t.erase()
    assert not t.loaded and not any(t._regs)
    for k in IDK:
        assert k not in repr(t)
