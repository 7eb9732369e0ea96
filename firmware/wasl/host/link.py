# The framed TLS link to the acquirer (docs/host-interface.md, section 1):
# one TCP+TLS connection per exchange, 2-byte big-endian length header, server certificate verified
# against the CA from the parameters and the host name checked.
#
# The socket is non-blocking and polled from the event loop every _TICK_MS, with one deadline per
# phase (connect+handshake+send, then reply). Doing it here rather than with asyncio streams and
# wait_for keeps two asyncio modules and their per-call task objects out of RAM, and reads straight
# into the caller's buffer. MicroPython semantics: a non-blocking TLS socket returns None from
# read/write while it would block (also during the handshake, which runs inside the first write).
import errno
import gc
import socket

from wasl import log

try:
    from micropython import const
    from time import ticks_add, ticks_diff, ticks_ms
    from asyncio import sleep_ms
except ImportError:  # CPython: this module needs MicroPython's socket semantics; imported for tests
    def const(x):
        return x

_MAX_REPLY = const(2048)
_RESERVE = const(1536)   # bytes kept free, in one piece, for the TLS session's objects
_TICK_MS = const(10)

# LinkError.reason values (each has a message in the language tables as "link_<reason>").
CONNECT = "connect"     # refused, unreachable, DNS, connect time-out
TLS = "tls"             # certificate not from the configured CA, wrong host name, handshake failure
TIMEOUT = "timeout"     # no complete reply within the reply time-out
CLOSED = "closed"       # the host closed the connection before replying
PARTIAL = "partial"     # the connection ended in the middle of a reply
TOO_LONG = "too_long"   # the length header announces more than we accept


class LinkError(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        # True when the request may have reached the host (matters for reversal).
        self.maybe_sent = reason in (TIMEOUT, CLOSED, PARTIAL, TOO_LONG)


def tls_context():
    """The client TLS context (about 3 KB in one block): create it early, while the heap is whole."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _classify(e, sending):
    """LinkError for an exception raised by the socket or the TLS layer."""
    if isinstance(e, LinkError):
        return e
    code = e.args[0] if e.args else 0
    if isinstance(e, ValueError) or (isinstance(code, int) and code < 0):
        # mbedTLS: certificate not trusted, name mismatch, handshake failure (negative codes)
        return LinkError(TLS, str(e).strip())
    if sending:
        return LinkError(CONNECT, str(e).strip())
    return LinkError(PARTIAL, str(e).strip())


class Link:
    def __init__(self, ctx, address, port, server_name, ca_der, connect_timeout_s, reply_timeout_s):
        self.address = address
        self.port = port
        self.server_name = server_name
        self.connect_timeout_s = connect_timeout_s
        self.reply_timeout_s = reply_timeout_s
        ctx.load_verify_locations(cadata=ca_der)
        self._ctx = ctx
        self._hdr = bytearray(2)
        # A heap that has served a few transactions is fragmented; the TLS socket needs contiguous
        # blocks. Hold a reserve from boot and release it just before connecting.
        self._reserve = None
        self.rearm()

    @classmethod
    def from_params(cls, ctx, p):
        return cls(ctx, p.host_address, p.host_port, p.host_server_name, p.host_ca,
                   p.host_connect_timeout_s, p.host_reply_timeout_s)

    def rearm(self, fresh=False):
        """Take the TLS reserve back; call when the terminal is idle (the heap at its emptiest).
        fresh: release it first and allocate it again after a collection."""
        if fresh:
            self._reserve = None
        if self._reserve is None:
            gc.collect()
            try:
                self._reserve = bytearray(_RESERVE)
            except MemoryError:
                log.warn("link", "TLS reserve not re-armed")

    async def exchange(self, request, reply_buf, progress=None):
        """Send one framed request; read the reply into reply_buf (it may be the buffer the request
        lives in: the request is completely sent first). Return a memoryview of the reply.
        Raise LinkError. `progress(stage)` is called with 'connecting', 'sending', 'waiting'."""
        if progress:
            progress("connecting")
        self._reserve = None
        gc.collect()
        deadline = ticks_add(ticks_ms(), self.connect_timeout_s * 1000)
        sock = socket.socket()
        tls = None
        try:
            try:
                addr = socket.getaddrinfo(self.address, self.port)[0][-1]
                sock.setblocking(False)
                try:
                    sock.connect(addr)
                except OSError as e:
                    if e.args[0] != errno.EINPROGRESS:
                        raise
                tls = self._ctx.wrap_socket(sock, server_hostname=self.server_name,
                                            do_handshake_on_connect=False)
                n = len(request)
                hdr = self._hdr
                hdr[0] = n >> 8
                hdr[1] = n & 0xFF
                if progress:
                    progress("sending")
                # the TLS handshake runs inside the first write: certificate problems surface here
                await self._write_all(tls, hdr, deadline)
                await self._write_all(tls, request, deadline)
            except (OSError, ValueError) as e:
                raise _classify(e, True)
            if progress:
                progress("waiting")
            deadline = ticks_add(ticks_ms(), self.reply_timeout_s * 1000)
            try:
                await self._read_into(tls, memoryview(hdr), deadline, False)
                n = (hdr[0] << 8) | hdr[1]
                if n == 0 or n > min(_MAX_REPLY, len(reply_buf)):
                    raise LinkError(TOO_LONG, "reply length %d" % n)
                mv = memoryview(reply_buf)[:n]
                await self._read_into(tls, mv, deadline, True)
            except (OSError, ValueError) as e:
                raise _classify(e, False)
            log.debug("link", "reply %d bytes", n)
            return mv
        finally:
            try:
                (tls or sock).close()
            except OSError:
                pass

    async def _write_all(self, tls, data, deadline):
        mv = memoryview(data)
        done = 0
        rest = mv
        while done < len(mv):
            k = _attempt(tls.write, rest)
            if k:
                done += k
                rest = mv[done:]          # a new view only when data moved, not at every poll
                continue
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise LinkError(CONNECT, "connect/handshake time-out")
            await sleep_ms(_TICK_MS)

    async def _read_into(self, tls, mv, deadline, got_any):
        got = 0
        rest = mv
        while got < len(mv):
            k = _attempt(tls.readinto, rest)
            if k is None:                     # nothing yet
                if ticks_diff(deadline, ticks_ms()) <= 0:
                    raise LinkError(TIMEOUT)
                await sleep_ms(_TICK_MS)
            elif k == 0:                      # the host closed the connection
                raise LinkError(PARTIAL if (got_any or got) else CLOSED)
            else:
                got += k
                rest = mv[got:]


def _attempt(op, buf):
    """One non-blocking read or write: the byte count, or None while it would block."""
    try:
        return op(buf)
    except OSError as e:
        if e.args[0] != errno.EAGAIN:
            raise
        return None
