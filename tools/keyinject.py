"""Key injection for technicians (host side; docs/keys.md).

Derives a terminal's DUKPT initial key from a BDK and the terminal's initial key ID, wraps it in a TR-31
version D key block under the terminal's KBPK (key block protection key) and delivers it: into a sim
terminal's data directory, or printed for a device. It prints key check values (KCV) only: never a BDK,
an initial key or a KBPK.

    # a sim terminal: create its KBPK once, then inject (the terminal takes the block at its next boot)
    python -m tools.keyinject --data var/sim --gen-kbpk
    python -m tools.keyinject --data var/sim --bdk-file host_tests/fw/fixtures/crypto_test_bdk_aes128.txt \\
        --ikid 1234567890123456
    # TDES DUKPT (X9.24-1) for a legacy host: the initial KSN instead of the initial key ID
    python -m tools.keyinject --data var/sim --scheme tdes \\
        --bdk-file host_tests/fw/fixtures/crypto_test_bdk_tdes.txt --ksn FFFF9876543210E00000
    # a device: the KBPK it shares with the key-loading host, the block on stdout
    python -m tools.keyinject --kbpk-file kbpk.hex --bdk-file bdk.hex --ikid ... --print-block

Files: the BDK and KBPK files hold hex on their first line that is not empty or a '#' comment ("-" reads
the BDK from stdin). The sim KBPK is <data>/secure/kbpk (raw bytes, mode 0600, the sim's stand-in for the
ESP32's encrypted NVS); the block goes to <data>/keys/dukpt.tr31, the terminal's key inbox.
Host-side cryptography: the derivations and KCVs of tools/hostcrypto.py (shared with the acquirer
simulator) and psec's TR-31 wrap; not the firmware's code.
"""
import argparse
import json
import os
import sys

import warnings

from cryptography.utils import CryptographyDeprecationWarning

warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)   # psec's TDES calls

import psec  # noqa: E402

from tools.hostcrypto import aes_initial_key, aes_kcv, read_hex_file, tdes_ipek, tdes_kcv  # noqa: E402

KBPK_NAME = os.path.join("secure", "kbpk")
BLOCK_NAME = os.path.join("keys", "dukpt.tr31")


class ToolError(Exception):
    pass


# The derivations live in tools/hostcrypto.py (shared with the acquirer simulator); the names this tool
# had before are kept for the callers that use them (host_tests/test_crypto_crosscheck.py).
aes_dukpt_initial_key = aes_initial_key
tdes_dukpt_ipek = tdes_ipek


# ---- files (reading a key file: tools.hostcrypto.read_hex_file) ----------------------------------------

def write_private(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def gen_kbpk(data_dir, bits, force):
    path = os.path.join(data_dir, KBPK_NAME)
    if os.path.exists(path) and not force:
        raise ToolError("%s exists: the terminal's key state is sealed under it (--force replaces it, "
                        "and the terminal then needs a new key injection)" % path)
    kbpk = os.urandom(bits // 8)
    write_private(path, kbpk)
    return path, aes_kcv(kbpk)


def load_kbpk(args):
    if args.kbpk_file:
        kbpk = read_hex_file(args.kbpk_file, "KBPK")
    elif args.data:
        path = os.path.join(args.data, KBPK_NAME)
        try:
            with open(path, "rb") as f:
                kbpk = f.read()
        except OSError:
            raise ToolError("no KBPK at %s: create it with --gen-kbpk" % path) from None
    else:
        raise ToolError("the KBPK: --data DIR (sim) or --kbpk-file FILE")
    if len(kbpk) not in (16, 32):
        raise ToolError("the KBPK is not an AES-128 or AES-256 key")
    return kbpk


# ---- the block ---------------------------------------------------------------------------------------

def make_block(args):
    """(TR-31 block, facts to print) for the arguments."""
    bdk = read_hex_file(args.bdk_file, "BDK")
    kbpk = load_kbpk(args)
    if args.scheme == "aes":
        if not args.ikid:
            raise ToolError("AES DUKPT needs --ikid (the initial key ID, 16 hex digits)")
        ikid = bytes.fromhex(args.ikid)
        ik = aes_initial_key(bdk, ikid)
        header = "D0000B1AX%sN0100IK14%s" % (args.key_version, ikid.hex().upper())
        facts = {"scheme": "AES-%d DUKPT" % (8 * len(ik)), "bdk_kcv": aes_kcv(bdk).hex().upper(),
                 "ik_kcv": aes_kcv(ik).hex().upper(), "initial_key_id": ikid.hex().upper(),
                 "first_ksn": (ikid + (1).to_bytes(4, "big")).hex().upper()}
    else:
        if not args.ksn:
            raise ToolError("TDES DUKPT needs --ksn (the initial KSN, 20 hex digits)")
        ksn = bytearray(bytes.fromhex(args.ksn))
        ik = tdes_ipek(bdk, bytes(ksn))
        ksn[7] &= 0xE0
        ksn[8:10] = b"\x00\x00"
        header = "D0000B1TX%sN0100KS18%s" % (args.key_version, ksn.hex().upper())
        first = bytearray(ksn)
        first[9] = 1
        facts = {"scheme": "TDES DUKPT", "bdk_kcv": tdes_kcv(bdk).hex().upper(),
                 "ik_kcv": tdes_kcv(ik).hex().upper(), "initial_ksn": ksn.hex().upper(),
                 "first_ksn": first.hex().upper()}
    block = psec.tr31.wrap(kbpk, header, ik)
    facts["kbpk_kcv"] = aes_kcv(kbpk).hex().upper()
    return block, facts


def main(argv=None, out=sys.stdout):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", help="the sim terminal's data directory (its storage root, e.g. var/sim)")
    ap.add_argument("--gen-kbpk", action="store_true", help="create the sim terminal's KBPK in --data")
    ap.add_argument("--kbpk-bits", type=int, choices=(128, 256), default=256)
    ap.add_argument("--force", action="store_true", help="with --gen-kbpk: replace an existing KBPK")
    ap.add_argument("--kbpk-file", help="hex KBPK file (device), instead of --data's")
    ap.add_argument("--bdk-file", help="hex BDK file, '-' for stdin (test BDKs: host_tests/fw/fixtures/)")
    ap.add_argument("--scheme", choices=("aes", "tdes"), default="aes")
    ap.add_argument("--ikid", help="AES DUKPT initial key ID: BDK ID (4 bytes) + derivation ID (4 bytes), hex")
    ap.add_argument("--ksn", help="TDES DUKPT initial KSN, 20 hex digits")
    ap.add_argument("--key-version", default="00", help="TR-31 key version number (2 characters)")
    ap.add_argument("--print-block", action="store_true", help="print the key block (for a device)")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of text lines")
    a = ap.parse_args(argv)
    facts = {}
    try:
        if a.gen_kbpk:
            if not a.data:
                raise ToolError("--gen-kbpk needs --data")
            path, kcv = gen_kbpk(a.data, a.kbpk_bits, a.force)
            facts.update(kbpk_file=path, kbpk_kcv=kcv.hex().upper())
        if a.bdk_file:
            if len(a.key_version) != 2:
                raise ToolError("--key-version: 2 characters")
            block, f = make_block(a)
            facts.update(f)
            if a.data and not a.print_block:
                path = os.path.join(a.data, BLOCK_NAME)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as fh:
                    fh.write(block + "\n")
                facts["block_file"] = path
            else:
                facts["block"] = block
        elif not a.gen_kbpk:
            raise ToolError("nothing to do: --gen-kbpk and/or --bdk-file")
    except (ToolError, ValueError) as e:
        print("keyinject: %s" % e, file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(facts, sort_keys=True), file=out)
    else:
        for k in ("scheme", "kbpk_file", "kbpk_kcv", "bdk_kcv", "ik_kcv", "initial_key_id", "initial_ksn",
                  "first_ksn", "block_file", "block"):
            if k in facts:
                print("%-15s %s" % (k + ":", facts[k]), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
