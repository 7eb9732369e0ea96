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

_MAX_REPLY = const(1024)
_RESERVE = const(576)   # the TLS socket object (520 bytes on the 64-bit unix port) fits in it
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


_reserve = None   # the one reserve of the process (one link at a time)


def tls_context():
    """The client TLS context (about 3 KB in one block) and the reserve for the TLS socket object (see
    Link): create them first at boot, while the heap is whole. MicroPython's native `tls` module, not
    the `ssl` wrapper over it (1 KB of RAM for nothing)."""
    import tls

    global _reserve
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    _reserve = bytearray(_RESERVE)
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
    def __init__(self, ctx, address, port, server_name, ca_der, connect_timeout_s, reply_timeout_s,
                 address2="", port2=0):
        self.address = address
        self.port = port
        self.address2 = address2      # the secondary host ("" none), tried when the first cannot be reached
        self.port2 = port2
        self.net = None               # the link manager (wasl.net.Links), or None: the port's network
        self.server_name = server_name
        self.connect_timeout_s = connect_timeout_s
        self.reply_timeout_s = reply_timeout_s
        ctx.load_verify_locations(ca_der)   # native tls: DER bytes, positional
        self._ctx = ctx
        self._hdr = bytearray(2)
        # A heap that has served a few transactions is fragmented; the TLS socket object needs a
        # contiguous block. A reserve made at boot (tls_context) is released just before the socket is
        # made, and taken back at idle.

    @classmethod
    def from_params(cls, ctx, p):
        return cls(ctx, p.host_address, p.host_port, p.host_server_name, p.host_ca,
                   p.host_connect_timeout_s, p.host_reply_timeout_s, p.host_address2, p.host_port2)

    def rearm(self):
        """Take the TLS reserve back after a connection; call when the terminal is idle (the heap at its
        emptiest: the socket's block, just freed, is there for it)."""
        global _reserve
        if _reserve is None:
            gc.collect()
            try:
                _reserve = bytearray(_RESERVE)
            except MemoryError:
                log.warn("link", "TLS reserve not re-armed")

    async def exchange(self, request, reply_buf, progress=None):
        """Send one framed request; read the reply into reply_buf (it may be the buffer the request
        lives in: the request is completely sent first). Return a memoryview of the reply.
        Raise LinkError. `progress(stage)` is called with 'connecting', 'sending', 'waiting'.

        Only a connection that failed before any byte of the request left (reason CONNECT) is tried
        again: over the other network link when the manager puts the current one aside, else at the
        secondary host. Anything later (TIMEOUT, CLOSED...: maybe_sent) is the caller's, with its
        reversal; a TLS refusal is never retried."""
        net = self.net
        addr, port = self.address, self.port
        tries = 3
        while True:
            if net is not None and not await net.up():
                raise LinkError(CONNECT, "no network link")
            try:
                reply = await self._exchange(addr, port, request, reply_buf, progress)
            except LinkError as e:
                tries -= 1
                if e.reason != CONNECT or not tries:
                    raise
                # a refused connection came from the host: the network works
                if net is not None and e.detail.find("REFUSED") < 0 and net.failed():
                    continue
                if not self.address2 or addr == self.address2 and port == self.port2:
                    raise
                log.warn("link", "%s:%d: %s; secondary host", addr, port, e.detail)
                addr, port = self.address2, self.port2
                continue
            if net is not None:
                net.failed(True)
            return reply

    async def _exchange(self, address, port, request, reply_buf, progress):
        global _reserve
        if progress:
            progress("connecting")
        deadline = ticks_add(ticks_ms(), self.connect_timeout_s * 1000)
        sock = socket.socket()
        tls = None
        try:
            try:
                addr = socket.getaddrinfo(address, port)[0][-1]
                sock.setblocking(False)
                try:
                    sock.connect(addr)
                except OSError as e:
                    if e.args[0] != errno.EINPROGRESS:
                        raise
                # the reserve goes just before the TLS socket object needs the room it kept
                _reserve = None
                gc.collect()
                tls = self._ctx.wrap_socket(sock, server_side=False, do_handshake_on_connect=False,
                                            server_hostname=self.server_name)
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
