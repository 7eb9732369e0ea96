# wasl.crypto.dukpt_tdes: ANSI X9.24-1-2009 TDES DUKPT, terminal side. Vectors: X9.24-1-2009 Annex A.4
# (A.4.2 initial sequence, A.4.3 rollover), as reproduced in openemv/dukpt test/dukpt_tdes_test.c.
from fwtest import raises
from wasl.crypto import dukpt_tdes as d
from wasl.crypto.des import TDES

H = bytes.fromhex
BDK = H("0123456789ABCDEFFEDCBA9876543210")
IKSN = H("FFFF9876543210E00000")
IPEK = H("6AC292FAA1315B4D858AB3A3D7D5933A")
CLEAR_PIN_BLOCK = H("041274EDCBA9876F")     # format 0, PIN 1234, PAN 4012345678909

# A.4.2: (counter, transaction key, enciphered PIN block) for KSNs FFFF9876543210E00001 ... E00015
INITIAL = (
    (0x01, "042666B49184CFA368DE9628D0397BC9", "1B9C1845EB993A7A"),
    (0x02, "C46551CEF9FD24B0AA9AD834130D3BC7", "10A01C8D02C69107"),
    (0x03, "0DF3D9422ACA56E547676D07AD6BADFA", "18DC07B94797B466"),
    (0x04, "279C0F6AEED0BE652B2C733E1383AE91", "0BC79509D5645DF7"),
    (0x05, "5F8DC6D2C845C125508DDC048093B83F", "5BC0AF22AD87B327"),
    (0x06, "5E415CB0BAF9F03CD0C14B63FB62FF43", "A16DF70AE36158D8"),
    (0x07, "0C8F780B7C8B49D0AE84A9EB2A6CE660", "27711C16CB257F8E"),
    (0x08, "27F66D5244FF62E1AA6F6120EDEB4280", "50E55547A5027551"),
    (0x09, "27E31064FDC565698900E2057F658E7E", "536CF7F678ACFC8D"),
    (0x0A, "6CF2500A22507C7CC776CEADC1E33014", "EDABBA23221833FE"),
    (0x0B, "3E8260BA04B2D620C01482B3819A18B7", "2328981C57B4BDBA"),
    (0x0C, "B716E1E11CF53D80726CAEE75C3A624F", "038D03CC926CF286"),
    (0x0D, "E072EDF95340535FB6C581C58FBF2533", "6C8AA97088B62C68"),
    (0x0E, "A80046087F5B8F245AAD95E18429084F", "F17C9E1D72CD4950"),
    (0x0F, "93DD5B956C4878472E453AAEFD32A5AA", "B170F6E7F7F2F64A"),
    (0x10, "59598DCBD9BD94C094165CE453585F57", "D5D9638559EF53D6"),
    (0x11, "2B5F01F4F0CC05EA639D523231BF1BA2", "D544F8CDD292C863"),
    (0x12, "9CF640F279C2AEE615F725EEEAC2CBAF", "7A21BD10F36DC41D"),
    (0x13, "C3DF489FDF1153B4F03DE97C27DC4C2F", "78649BD17D0DFA60"),
    (0x14, "6584885077 21B3F14737FA93F923CBD2".replace(" ", ""), "7E7E16EA0C31AD56"),
    (0x15, "E161D1956A61F6D2F37AFD7F9CC3699A", "72105C22EBC791E6"),
)
# A.4.3: rollover sequence from KSN FFFF9876543210EFF800
ROLLOVER = (
    (0x0FF800, "F9CDFEBF4F5B1D9EB3EC12454527E176", "33365F5CC6F23C35"),
    (0x0FF801, "5BEE92627E97825C911BF619DF72CA3B", "3A86BF003F835C9D"),
    (0x0FF802, "64CA2F8AB93F61B01620B00BF77C7301", "3DB977D05C36DF3F"),
    (0x0FF804, "35A168695B3BA83307E871C42021DD37", "BA83243305712099"),
    (0x0FF808, "12C380FCB72ED3C26FC6079AF63F4787", "B0DA04AC90A36D85"),
    (0x0FF810, "D8007C833A1E3C49C6889B97A68C54FF", "2CF02BD9C309EEDA"),
    (0x0FF820, "A9C9FF9B735FDD49591F296B0BF0FD70", "9D1E2F77AEEE81C6"),
    (0x0FF840, "0E3E221062CB5E03A384602783A004FA", "40870B0F8BA2011C"),
    (0x0FF880, "CA8225C587124DFBB87F279C0BE29727", "22E340D6ABB40981"),
    (0x0FF900, "906AAC1751D4971A144D52C76C6E1F97", "1A4C10AFBA03A430"),
    (0x0FFA00, "2B9E2CE7C2750337E10B54D2989EA6AF", "849763B43E5F9CFF"),
    (0x0FFC00, "F9430DF975082491C77BE4EF4FDB91EE", "DEFC6F09F8927B71"),
    (0x100000, "AA4D58DB653EC74A48C75F2F047DD2B5", "73EC88AD0AC5830E"),
)


def _ksn(c):
    k = bytearray(IKSN)
    k[7] |= c >> 16
    k[8] = (c >> 8) & 0xFF
    k[9] = c & 0xFF
    return bytes(k)


def _rightmost(c):
    i = 0
    while not (c >> i) & 1:
        i += 1
    return i


def state_at(counter):
    """The terminal's state when `counter` is next, built with the receiving-side derivation (see
    test_crypto_dukpt_aes.state_at)."""
    r = _rightmost(counter)
    blob = bytearray(15 + 21 * 16)
    blob[0] = 0x54
    blob[1] = 1
    blob[2:12] = _ksn(counter)
    m = 0
    for j in range(21):
        if j == r or (j > r and not (counter >> j) & 1):
            c = (counter & ~((1 << (j + 1)) - 1)) | (1 << j)
            blob[15 + 16 * j:31 + 16 * j] = d.transaction_key(IPEK, _ksn(c))
            m |= 1 << j
    blob[12] = m >> 16
    blob[13] = (m >> 8) & 0xFF
    blob[14] = m & 0xFF
    return blob


def _pin_block(key):
    return bytes(TDES(key).encrypt(CLEAR_PIN_BLOCK))


def test_ipek_from_bdk():
    # A.4 / A.6
    assert bytes(d.derive_ipek(BDK, IKSN)) == IPEK
    assert bytes(d.derive_ipek(BDK, H("FFFF9876543210E00008"))) == IPEK     # counter bits ignored
    raises(d.DukptError, d.derive_ipek, BDK + BDK[:8], IKSN)


def test_receiving_side_transaction_keys():
    for c, key, _ in INITIAL + ROLLOVER:
        assert bytes(d.transaction_key(IPEK, _ksn(c))) == H(key), hex(c)


def test_terminal_initial_sequence_pin_blocks():
    t = d.TdesDukpt()
    t.load_initial_key(IPEK, IKSN)
    out = bytearray(16)
    for c, key, blk in INITIAL:
        ksn = t.generate_working_keys((d.PIN,), out)
        assert bytes(ksn) == _ksn(c)
        assert _pin_block(out) == H(blk), hex(c)
        k = bytearray(H(key))
        k[7] ^= 0xFF
        k[15] ^= 0xFF
        assert bytes(out) == bytes(k)        # the PIN variant of the published transaction key


def test_terminal_rollover_skips_counters_with_more_than_10_one_bits():
    t = d.TdesDukpt()
    t.restore(state_at(0x0FF800))
    out = bytearray(16)
    for c, _, blk in ROLLOVER:
        ksn = t.generate_working_keys((d.PIN,), out)
        assert bytes(ksn) == _ksn(c), (bytes(ksn).hex(), hex(c))
        assert _pin_block(out) == H(blk), hex(c)


def test_end_of_the_counter():
    # 0x1FF800 has 10 one bits: it gets no future keys and adding its rightmost bit leaves 21 bits
    t = d.TdesDukpt()
    t.restore(state_at(0x1FF800))
    out = bytearray(16)
    ksn = t.generate_working_keys((d.PIN,), out)
    assert d.ksn_counter(ksn) == 0x1FF800
    assert bytes(out) == bytes(d.working_key(d.transaction_key(IPEK, _ksn(0x1FF800)), d.PIN))
    raises(d.DukptExhausted, t.generate_working_keys, (d.PIN,), out)
    raises(d.DukptExhausted, t.ksn)
    assert not any(t._in_use)
    t2 = d.TdesDukpt()
    t2.restore(t.state())                  # an exhausted state stays exhausted after a restart
    raises(d.DukptExhausted, t2.ksn)


def test_variants_of_table_a1():
    key = H(INITIAL[0][1])

    def variant(byte):
        k = bytearray(key)
        k[byte] ^= 0xFF
        k[byte + 8] ^= 0xFF
        return bytes(k)
    assert bytes(d.working_key(key, d.PIN)) == variant(7)
    assert bytes(d.working_key(key, d.MAC_REQUEST)) == variant(6)
    assert bytes(d.working_key(key, d.MAC_RESPONSE)) == variant(4)
    assert bytes(d.working_key(key, d.DATA_REQUEST)) == variant(5)
    assert bytes(d.working_key(key, d.DATA_RESPONSE)) == variant(3)


def test_data_key_one_way_function():
    # KSN FFFF9876543210E00008, data variant then each half enciphered under it: C39B2778B058AC376FB18DC906F75CBA
    # (published by ID TECH, "How to decrypt credit card data, part II"; SoftwareVerde/java-dukpt testToDataKey)
    tk = d.transaction_key(IPEK, H("FFFF9876543210E00008"))
    assert bytes(d.working_key(tk, d.DATA_REQUEST | d.OWF)) == H("C39B2778B058AC376FB18DC906F75CBA")


def test_several_working_keys_and_the_saved_state():
    saved = []

    class St:
        def save(self, b):
            saved.append(bytes(b))

        def load(self):
            return saved[-1]
    t = d.TdesDukpt(St())
    t.load_initial_key(IPEK, IKSN)
    out = bytearray(48)
    t.generate_working_keys((d.PIN, d.MAC_REQUEST, d.MAC_RESPONSE), out)
    tk = H(INITIAL[0][1])
    assert bytes(out[16:32]) == bytes(d.working_key(tk, d.MAC_REQUEST))
    assert bytes(out[32:]) == bytes(d.working_key(tk, d.MAC_RESPONSE))
    assert saved[-1] == bytes(state_at(2))
    t2 = d.TdesDukpt(St())
    assert t2.load() and bytes(t2.ksn()) == _ksn(2)
    assert t2.initial_key_id == IKSN
    raises(d.DukptError, t2.generate_working_keys, (d.PIN, d.PIN), bytearray(20))
    t2.erase()
    assert not t2.loaded and not any(t2._regs)
    raises(d.DukptError, t2.restore, b"A" + bytes(350))
