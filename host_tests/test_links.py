"""Network links end to end (issue 6, points 1, 3 and 6): the real firmware on the unix port with the sim
board, the acquirer simulator, the sim Wi-Fi (switched by the harness) and the GSM path: the real AT
driver over the board's "modem" UART to the harness's virtual SIM800 (tools/virtual/modem.py), then the
sim's PPP stand-in (host TCP, docs/modem.md section 7)."""
import os
import socket
import threading
import time

from tools.acqsim.ledger import Ledger
from tools.scenario import free_port
from tools.simlink import AcqSim, Firmware, journal_state, load_cards

CARDS = load_cards()
JULY = 1783242487            # 2026-07-05 09:08:07 UTC; 10:08 local (tz_offset_min 60)
MODEM_CLOCK = "26/07/05,10:08:07+04"
OLD = "978307200"            # the terminal boots believing it is 2001-01-01
FAST = {"check_s": 1, "retry_s": 3}
ATTACH = ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CSQ", "AT+CREG?", "AT+CGREG?",
          'AT+CGDCONT=1,"IP","internet"']


def sale(fw, amount, card="visa_ok", on_card=None, receipts=None):
    """A swiped sale through to both copies; on_card() runs while the terminal waits for the card."""
    mark = len(fw.states)
    fw.keys(amount, "OK")
    fw.wait_state("card", since=mark)
    if on_card:
        on_card()
    fw.card(CARDS[card])
    i = fw.wait_state("approved", 40, since=mark)
    fw.wait_state("copy_prompt", since=i)
    fw.key("OK")
    fw.wait_receipts(receipts)
    fw.wait_state("idle", since=i)


def reconcile(fw, acq):
    j = journal_state(fw.data_dir)
    host = Ledger(acq.info["ledger"]).batch_totals(fw.params["terminal_id"], "%06d" % j["batch"])
    mine = {k: j[k] for k in ("debit_count", "debit_amount", "credit_count", "credit_amount")}
    assert {k: host[k] for k in mine} == mine, (mine, host)
    assert j["pending"] is None
    return j


def test_wifi_loss_mid_day_falls_over_to_gsm_and_back(tmp_path):
    with AcqSim(tmp_path / "acq") as acq, Firmware(tmp_path / "term", acq=acq, params={"language": "en", "net": FAST},
                                                   modem={"clock": MODEM_CLOCK}) as fw:
        fw.wait_state("idle")
        fw.wait_link("wifi")
        fw.wait_screen("WASL W3 ")        # the sim access point's -58 dBm
        sale(fw, "1000", receipts=2)
        assert fw.modem.fake.log == []     # the modem was not needed
        # Wi-Fi goes while the terminal waits for the card: the exchange finds it down, attaches GSM,
        # and the sale goes through without being sent twice
        sale(fw, "2000", on_card=lambda: fw.wifi(False), receipts=4)
        assert fw.links[-1] == "gsm" and fw.modem.fake.data_mode
        assert fw.modem.fake.log[:8] == ATTACH and fw.modem.fake.log[-1] == "ATD*99#"
        fw.wait_screen("WASL G4 ")
        rows = acq.ledger_rows(fw.params["terminal_id"])
        assert [(r["amount"], r["rc"], r["mti"]) for r in rows] == [(1000, "00", "0200"), (2000, "00", "0200")]
        reconcile(fw, acq)
        # the clock came from the modem on the way (it had not been set from the network)
        assert "clock set from gsm: %d" % JULY in fw.log_text()
        # Wi-Fi returns: back to the preferred link within net.retry_s, the data call hung up
        n = len(fw.links)
        fw.wifi(True)
        fw.wait_link("wifi", timeout=15, since=n)
        fw.wait_screen("WASL W3 ")
        assert fw.modem.fake.escapes == 1 and fw.modem.fake.log[-1] == "ATH" and not fw.modem.fake.data_mode
        sale(fw, "3000", receipts=6)
        assert len(fw.modem.fake.commands("ATD")) == 1     # sale 3 went over Wi-Fi
        # dead-link detection at idle, in seconds: Wi-Fi lost, GSM up before anyone asks
        n = len(fw.links)
        t0 = time.monotonic()
        fw.wifi(False)
        fw.wait_link("gsm", timeout=15, since=n)
        assert time.monotonic() - t0 < 8
        j = reconcile(fw, acq)
        assert j["debit_count"] == 3 and j["debit_amount"] == 6000


def test_gsm_preferred_full_attach_sale_and_clock_from_the_modem(tmp_path):
    params = {"language": "en", "net": dict(FAST, prefer="gsm")}
    with AcqSim(tmp_path / "acq") as acq, Firmware(tmp_path / "term", acq=acq, params=params, env={"WASL_TIME": OLD},
                                                   modem={"clock": MODEM_CLOCK, "csq": (12, 0)}) as fw:
        fw.wait_state("idle")
        fw.wait_link("gsm", timeout=15)
        assert fw.modem.fake.log == ATTACH + ["AT+CCLK?", "ATD*99#"], fw.modem.fake.log
        fw.wait_screen("WASL G2 ")          # rssi 12
        fw.wait_screen("05/07 10:08")      # the clock set from AT+CCLK? (local time)
        sale(fw, "4500", receipts=2)
        assert "DATE 05/07/2026" in fw.receipts[0]["text"]
        j = reconcile(fw, acq)
        assert j["records"][0]["t"].startswith("2026070510"), j["records"][0]   # fields 12/13 of the 0200
        assert fw.links == ["gsm"] and fw.modem.fake.data_mode
        assert {"ev": "ppp", "up": True} in fw.events


def test_dead_ppp_is_noticed_and_the_modem_attached_again(tmp_path):
    params = {"language": "en", "net": dict(FAST, prefer="gsm")}
    with AcqSim(tmp_path / "acq") as acq, Firmware(tmp_path / "term", acq=acq, params=params,
                                                   modem={"clock": MODEM_CLOCK}) as fw:
        fw.wait_state("idle")
        fw.wifi(False)
        fw.wait_link("gsm", timeout=15)
        n = len(fw.links)
        fw.ppp_drop()
        fw.wait_link("", timeout=5, since=n)          # within net.check_s
        fw.wait_link("gsm", timeout=15, since=n)      # hung up (+++, ATH), attached again
        assert fw.modem.fake.escapes == 1 and len(fw.modem.fake.commands("ATD")) == 2
        sale(fw, "1500", receipts=2)
        reconcile(fw, acq)


class FakeNtp:
    """An SNTP server on 127.0.0.1 answering every request with `t`."""

    def __init__(self, t):
        self.t = t
        self.requests = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop:
            try:
                req, addr = self.sock.recvfrom(64)
            except OSError:
                continue
            self.requests += 1
            r = bytearray(48)
            r[0] = 0x24     # LI 0, version 4, mode 4 (server)
            r[1] = 2
            r[40:44] = (self.t + 2208988800).to_bytes(4, "big")
            self.sock.sendto(bytes(r), addr)


def test_ntp_sets_the_clock_used_on_receipts_and_in_messages(tmp_path):
    ntp = FakeNtp(JULY)
    try:
        params = {"language": "en", "net": dict(FAST, ntp_host="127.0.0.1", ntp_port=ntp.port)}
        with AcqSim(tmp_path / "acq") as acq, Firmware(tmp_path / "term", acq=acq, params=params,
                                                       env={"WASL_TIME": OLD}) as fw:
            fw.wait_state("idle")
            fw.wait_link("wifi")
            fw.wait_screen("05/07 10:08")
            assert ntp.requests == 1
            sale(fw, "1000", receipts=2)
            assert "DATE 05/07/2026" in fw.receipts[0]["text"]
            j = reconcile(fw, acq)
            assert j["records"][0]["t"].startswith("2026070510")
    finally:
        ntp.stop = True


def test_ntp_server_silent_leaves_the_clock(tmp_path):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))        # bound, never answers
    try:
        params = {"language": "en", "net": dict(FAST, ntp_host="127.0.0.1", ntp_port=s.getsockname()[1])}
        with AcqSim(tmp_path / "acq") as acq, Firmware(tmp_path / "term", acq=acq, params=params,
                                                       env={"WASL_TIME": OLD}) as fw:
            fw.wait_state("idle")
            fw.wait_link("wifi")
            fw.wait_screen("01/01 01:")
            fw.wait_for(lambda: "NTP: no NTP reply from 127.0.0.1" in fw.log_text(), 10, "the NTP warning")
    finally:
        s.close()


def test_secondary_host_when_the_primary_cannot_be_reached(tmp_path):
    with AcqSim(tmp_path / "acq") as acq:
        host = {"port": free_port(), "address2": "127.0.0.1", "port2": acq.port}
        with Firmware(tmp_path / "term", acq=acq, params={"language": "en", "host": host}) as fw:
            fw.wait_state("idle")
            sale(fw, "1000", receipts=2)
            assert "secondary host" in fw.log_text()
            assert fw.modem.fake.log == []     # a refused connection is the host's, not the link's
            assert len(acq.ledger_rows()) == 1
            reconcile(fw, acq)


def test_no_link_at_all_says_so_and_sends_nothing(tmp_path):
    params = {"language": "en", "net": FAST}
    with AcqSim(tmp_path / "acq") as acq, Firmware(tmp_path / "term", acq=acq, params=params,
                                                   modem={"sim": "ABSENT"}) as fw:
        fw.wifi(False)
        fw.wait_state("idle")
        fw.wait_screen("NO NETWORK", timeout=15)
        mark = len(fw.states)
        fw.keys("1000", "OK")
        fw.wait_state("card", since=mark)
        fw.card(CARDS["visa_ok"])
        fw.wait_state("no_reply", 30, since=mark)
        fw.wait_screen("CONNECTION FAILED")
        assert acq.ledger_rows() == []
        assert "no_sim" in fw.log_text()
        fw.key("OK")
        fw.wait_state("idle", since=mark + 1)
        # the reversal was armed before the request could leave (wasl.txn.online's rule, kept): when Wi-Fi
        # returns, it goes first, the host finds nothing to reverse, and the books agree
        assert journal_state(fw.data_dir)["pending"] == 1
        n = len(fw.links)
        fw.wifi(True)
        fw.wait_link("wifi", timeout=15, since=n)
        sale(fw, "2500", receipts=2)
        assert [(r["mti"], r["amount"]) for r in acq.ledger_rows()] == [("0400", 1000), ("0200", 2500)]
        reconcile(fw, acq)
