# Names of EMV data objects (Book 3 Annex A) and of the TVR and TSI bits (Annex C5, C6), for logs,
# diagnostics and tests. Each table is one string constant looked up with str.find (in ROMFS a string
# constant costs no heap; a dict of these would cost kilobytes). The kernel itself never imports this.
from binascii import hexlify

from wasl.emv import tlv

_NAMES = """
4F ADF name
50 application label
57 track 2 equivalent data
5A PAN
5F20 cardholder name
5F24 application expiration date
5F25 application effective date
5F28 issuer country code
5F2A transaction currency code
5F2D language preference
5F30 service code
5F34 PAN sequence number
5F36 transaction currency exponent
61 application template
6F FCI template
70 READ RECORD response template
71 issuer script template 1
72 issuer script template 2
77 response message template format 2
80 response message template format 1
81 amount, authorised (binary)
82 application interchange profile
84 DF name
86 issuer script command
87 application priority indicator
88 SFI
8A authorisation response code
8C CDOL1
8D CDOL2
8E CVM list
8F CA public key index
91 issuer authentication data
94 application file locator
95 terminal verification results
9A transaction date
9B transaction status information
9C transaction type
9F02 amount, authorised
9F03 amount, other
9F06 AID (terminal)
9F07 application usage control
9F08 application version number (card)
9F09 application version number (terminal)
9F0D IAC default
9F0E IAC denial
9F0F IAC online
9F10 issuer application data
9F11 issuer code table index
9F12 application preferred name
9F13 last online ATC register
9F14 lower consecutive offline limit
9F15 merchant category code
9F17 PIN try counter
9F18 issuer script identifier
9F1A terminal country code
9F1B terminal floor limit
9F1E IFD serial number
9F21 transaction time
9F23 upper consecutive offline limit
9F26 application cryptogram
9F27 cryptogram information data
9F33 terminal capabilities
9F34 CVM results
9F35 terminal type
9F36 application transaction counter
9F37 unpredictable number
9F38 PDOL
9F39 POS entry mode
9F40 additional terminal capabilities
9F41 transaction sequence counter
9F42 application currency code
9F5B issuer script results
9F66 terminal transaction qualifiers
9F6C card transaction qualifiers
9F6E form factor indicator
A5 FCI proprietary template
BF0C FCI issuer discretionary data
"""

# 40 TVR bits, byte 1 bit 8 first; '-' is RFU.
_TVR = ("ODA not performed|SDA failed|ICC data missing|card on exception file|DDA failed|CDA failed|"
        "SDA selected|-|"
        "different application versions|expired application|application not yet effective|"
        "service not allowed|new card|-|-|-|"
        "cardholder verification not successful|unrecognised CVM|PIN try limit exceeded|"
        "PIN pad not present or not working|PIN not entered|online PIN entered|-|-|"
        "floor limit exceeded|lower consecutive offline limit exceeded|"
        "upper consecutive offline limit exceeded|selected randomly for online|merchant forced online|-|-|-|"
        "default TDOL used|issuer authentication failed|script failed before final GENERATE AC|"
        "script failed after final GENERATE AC|-|-|-|-")
_TSI = ("ODA performed|cardholder verification performed|card risk management performed|"
        "issuer authentication performed|terminal risk management performed|script processing performed|-|-")


def name(tag):
    """'9F26' -> 'application cryptogram' (the hex itself when unknown)."""
    key = "\n%X " % tag
    i = _NAMES.find(key)
    if i < 0:
        return "%X" % tag
    i += len(key)
    return _NAMES[i:_NAMES.find("\n", i)]


def _bits(table, b):
    names = table.split("|")
    out = []
    for i in range(min(len(b) * 8, len(names))):
        if b[i >> 3] & (0x80 >> (i & 7)):
            out.append(names[i])
    return out


def tvr_names(tvr):
    """The TVR bits set, by name."""
    return _bits(_TVR, tvr)


def tsi_names(tsi):
    return _bits(_TSI, tsi)


def dump(b, depth=0, hide=(0x5A, 0x57, 0x5F20)):
    """Lines 'tag name: value' of a TLV buffer, templates indented. The PAN, track 2 equivalent and
    cardholder name are hidden (the lines may reach a log)."""
    out = []
    for t, s, e in tlv.items(b):
        if tlv.constructed(t):
            out.append("%s%X %s:" % ("  " * depth, t, name(t)))
            out.extend(dump(b[s:e], depth + 1, hide))
        else:
            v = "(%d bytes hidden)" % (e - s) if t in hide else hexlify(bytes(b[s:e])).decode().upper()
            out.append("%s%X %s: %s" % ("  " * depth, t, name(t), v))
    return out
