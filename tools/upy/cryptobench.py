# The terminal's cryptography per transaction on the MicroPython unix port (run by micropython):
#
#   MICROPYPATH=.frozen:firmware .venv/bin/micropython tools/upy/cryptobench.py [runs]
#
# On a copy of the AES key store fixture (host_tests/fw/fixtures/crypto_keystore_aes), each transaction
# does what wasl.txn.online does for a 0200 with a PIN: KeyStore.begin_transaction() (the next KSN's
# working keys, the DUKPT state sealed and written to secure storage first), the format 4 PIN block,
# the request MAC over 300 bytes and the reply MAC check. Prints one JSON line: CPU time per transaction
# (median, minimum; garbage collection excluded) and bytes allocated per transaction.
import gc
import json
import os
import sys
import time

ROOT = __file__.rsplit("/", 3)[0] if __file__.count("/") >= 3 else "."
FIX = ROOT + "/host_tests/fw/fixtures/crypto_keystore_aes/"


def _copy(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data)


def main(runs):
    from wasl.crypto.keystore import FileSecureStorage, KeyStore

    d = "/tmp/wasl-cryptobench-%d" % time.ticks_ms()
    for sub in ("", "/secure", "/keys"):
        os.mkdir(d + sub)
    _copy(FIX + "secure/kbpk", d + "/secure/kbpk")
    _copy(FIX + "keys/dukpt.tr31", d + "/keys/dukpt.tr31")
    ks = KeyStore(FileSecureStorage(d + "/secure"), d + "/keys")
    ks.load()
    msg = bytes(300)
    mac = bytearray(8)
    times = []
    alloc = 0
    for _ in range(runs):
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        t0 = time.ticks_us()
        t = ks.begin_transaction()
        t.pin_block(bytearray(b"1234"), "4761739001010010")
        t.mac(msg, mac)
        t.verify_mac(msg, mac)
        t.wipe()
        times.append(time.ticks_diff(time.ticks_us(), t0))
        alloc = gc.mem_alloc() - a
        gc.enable()
    for name in ("/secure/kbpk", "/secure/dukpt", "/keys/dukpt.tr31"):
        try:
            os.remove(d + name)
        except OSError:
            pass
    for sub in ("/secure", "/keys", ""):
        try:
            os.rmdir(d + sub)
        except OSError:
            pass
    times.sort()
    print(json.dumps({"cpu_us_median": times[len(times) // 2], "cpu_us_min": times[0],
                      "alloc_bytes": alloc, "runs": runs}))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
