# Time from the network, for the terminal's clock (receipts, ISO 8583 fields 7, 12 and 13): SNTP over
# UDP when the link is Wi-Fi (RFC 4330, one request, one reply), the modem's network time (AT+CCLK?)
# when it is GSM. Loaded by wasl.net.Links when it sets the clock, dropped after. Times are Unix
# seconds (UTC); the board's clock.set() turns them into its own epoch.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

_NTP_DELTA = const(2208988800)   # 1900-01-01 to 1970-01-01, seconds
_EARLIEST = const(1577836800)    # 2020-01-01: a modem or server saying earlier has no network time


def unix(y, mo, d, h, mi, s):
    """Unix seconds of a UTC date and time (proleptic Gregorian; no mktime: its epoch differs by port)."""
    y -= mo <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + h * 3600 + mi * 60 + s


def ntp_request():
    """An SNTP client request: LI 0, version 4, mode 3, the rest zero."""
    b = bytearray(48)
    b[0] = 0x23
    return b


def ntp_time(reply):
    """Unix seconds of an SNTP reply (its transmit time stamp). ValueError when it is not a usable
    server reply: too short, not mode 4 (server), stratum 0 (kiss-o'-death) or unsynchronised."""
    if len(reply) < 48:
        raise ValueError("NTP reply of %d bytes, 48 expected" % len(reply))
    if reply[0] & 7 != 4 or reply[0] >> 6 == 3 or not 0 < reply[1] < 16:
        raise ValueError("NTP reply is not from a synchronised server (mode %d, leap %d, stratum %d)"
                         % (reply[0] & 7, reply[0] >> 6, reply[1]))
    t = (reply[40] << 24 | reply[41] << 16 | reply[42] << 8 | reply[43]) - _NTP_DELTA
    if t < _EARLIEST:
        raise ValueError("NTP time %d is before 2020" % t)
    return t


async def ntp(host, port, timeout_ms=2000):
    """Ask an SNTP server; return Unix seconds. Raises OSError (network) or ValueError (bad reply)."""
    import socket
    from asyncio import sleep_ms
    from time import ticks_diff, ticks_ms

    addr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setblocking(False)
        s.sendto(ntp_request(), addr)
        t0 = ticks_ms()
        while True:
            try:
                r = s.recv(64)
            except OSError:
                r = None     # EAGAIN: nothing yet
            if r:
                return ntp_time(r)
            if ticks_diff(ticks_ms(), t0) > timeout_ms:
                raise OSError("no NTP reply from %s" % host)
            await sleep_ms(20)
    finally:
        s.close()


def cclk_time(line):
    """Unix seconds of a modem's +CCLK: "yy/MM/dd,hh:mm:ss±zz" (local time, zz in quarter hours; 3GPP
    TS 27.007 8.15). ValueError when it is cut, malformed, out of range, or the modem's power-up default
    (a year before 2020: the network never gave it the time)."""
    i = line.find('"')
    v = line[i + 1:line.rfind('"')] if 0 <= i < line.rfind('"') else ""
    if len(v) != 20 or v[2] != "/" or v[5] != "/" or v[8] != "," or v[11] != ":" or v[14] != ":" \
            or v[17] not in "+-":
        raise ValueError("bad +CCLK reply %r" % line)
    try:
        y, mo, d, h, mi, s, q = (int(v[k:k + 2]) for k in (0, 3, 6, 9, 12, 15, 18))
    except ValueError:
        raise ValueError("bad +CCLK reply %r" % line)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and s < 60 and q <= 56):
        raise ValueError("+CCLK out of range %r" % line)
    t = unix(2000 + y, mo, d, h, mi, s) - (q if v[17] == "+" else -q) * 900
    if t < _EARLIEST:
        raise ValueError("modem has no network time (%r)" % line)
    return t
