# A minimal HTTP/1.1 client over the terminal's TLS sockets, for the terminal management system
# (docs/tms.md). One request per connection ("Connection: close"), polled like wasl.host.link: the
# socket is non-blocking and the loop turns every _TICK_MS. It reads the status line, the headers
# (only those asked for are kept), and a body framed by Content-Length, by chunks, or by the end of the
# connection; every part has a size limit, and every wait a deadline (no byte for timeout_s: "timeout").
# The body goes to a sink (sink.write(memoryview)) a piece at a time, or, small, into one bytes object.
# Errors are wasl.host.link.LinkError, with the link's reasons plus "status" (not 2xx) and "bad_reply".
import errno
import gc
import socket

from wasl.events import sleep_ms, ticks_add, ticks_diff, ticks_ms
from wasl.host.link import LinkError, _attempt, _classify

try:
    from micropython import const
except ImportError:      # CPython (tests)
    def const(x):
        return x

_TICK_MS = const(10)
_BUF = const(512)        # the connection's one read buffer; also the longest status or header line
_MAX_HEADERS = const(40)
_CTX_RESERVE = const(3072)  # a TLS client context is 3048 bytes on the 64-bit unix port
STATUS = "status"
BAD_REPLY = "bad_reply"


class Response:
    def __init__(self):
        self.status = 0
        self.headers = {}    # the headers asked for (lower-case names) that were present
        self.length = 0      # body bytes received
        self.body = None     # bytes, when no sink was given


class Conn:
    """Buffered reads from a non-blocking socket (read / readinto returning None while it would block,
    0 or b"" at the end), with a deadline that moves on with every byte received."""

    def __init__(self, sock, timeout_s):
        self.sock = sock
        self.timeout_ms = timeout_s * 1000
        self.buf = bytearray(_BUF)
        self.pos = self.end = 0
        self.got = False

    async def write_all(self, data, deadline):
        mv = memoryview(data)
        done = 0
        while done < len(mv):
            k = _attempt(self.sock.write, mv[done:])
            if k:
                done += k
                continue
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise LinkError("connect", "connect/handshake time-out")
            await sleep_ms(_TICK_MS)

    async def fill(self):
        """Read more bytes after the buffered ones (moved to the start first). False at the end of
        the connection."""
        buf = self.buf
        if self.pos:
            n = self.end - self.pos
            buf[:n] = buf[self.pos:self.end]
            self.pos, self.end = 0, n
        if self.end == len(buf):
            raise LinkError("too_long", "header line")
        deadline = ticks_add(ticks_ms(), self.timeout_ms)
        mv = memoryview(buf)[self.end:]
        while True:
            k = _attempt(self.sock.readinto, mv)
            if k is None:
                if ticks_diff(deadline, ticks_ms()) <= 0:
                    raise LinkError("timeout")
                await sleep_ms(_TICK_MS)
            elif k == 0:
                return False
            else:
                self.end += k
                self.got = True
                return True

    async def line(self):
        """The next line without its CR LF, as a str (ASCII)."""
        while True:
            i = self.buf.find(b"\n", self.pos, self.end)
            if i >= 0:
                j = i - 1 if i > self.pos and self.buf[i - 1] == 13 else i
                s = bytes(self.buf[self.pos:j])
                self.pos = i + 1
                try:
                    return s.decode()
                except UnicodeError:
                    raise LinkError(BAD_REPLY, "header not text")
            if not await self.fill():
                raise LinkError("partial" if self.end else "closed", "in the header")

    async def some(self, n):
        """A memoryview of up to n bytes (at least one); the connection must not end before."""
        if self.pos == self.end:
            self.pos = self.end = 0
            if not await self.fill():
                raise LinkError("partial", "in the body")
        k = min(n, self.end - self.pos)
        mv = memoryview(self.buf)[self.pos:self.pos + k]
        self.pos += k
        return mv

    async def rest(self):
        """A memoryview of what comes next until the end of the connection, or None at the end."""
        if self.pos == self.end:
            self.pos = self.end = 0
            if not await self.fill():
                return None
        mv = memoryview(self.buf)[self.pos:self.end]
        self.pos = self.end
        return mv


def request_head(method, path, host, headers, body_len):
    h = "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nAccept-Encoding: identity\r\n" % (
        method, path, host)
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    if body_len is not None:
        h += "Content-Type: application/json\r\nContent-Length: %d\r\n" % body_len
    return (h + "\r\n").encode()


def _length(text, hexa=False):
    text = text.strip()
    if hexa:
        text = text.split(";")[0].strip()     # chunk extensions are ignored
    if not text or len(text) > 10:
        raise LinkError(BAD_REPLY, "bad length %r" % text[:12])
    try:
        n = int(text, 16 if hexa else 10)
    except ValueError:
        raise LinkError(BAD_REPLY, "bad length %r" % text[:12])
    if n < 0:
        raise LinkError(BAD_REPLY, "bad length")
    return n


async def exchange(conn, head, body, want=(), sink=None, limit=4096, connect_deadline=None):
    """Send the request (head, then body if any) on conn (a Conn) and read the reply. `limit` bounds
    the body; `want` names the headers to keep. Returns a Response; a status other than 2xx raises
    LinkError("status", "<code>") after the body is skipped."""
    if connect_deadline is None:
        connect_deadline = ticks_add(ticks_ms(), conn.timeout_ms)
    await conn.write_all(head, connect_deadline)
    if body:
        await conn.write_all(body, connect_deadline)
    r = Response()
    line = await conn.line()
    parts = line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise LinkError(BAD_REPLY, "status line %r" % line[:24])
    r.status = int(parts[1])
    length = None
    chunked = False
    for _ in range(_MAX_HEADERS):
        line = await conn.line()
        if not line:
            break
        name, sep, value = line.partition(":")
        if not sep:
            raise LinkError(BAD_REPLY, "header %r" % line[:24])
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            length = _length(value)
        elif name == "transfer-encoding":
            chunked = value.lower() == "chunked"
            if not chunked:
                raise LinkError(BAD_REPLY, "transfer encoding " + value[:16])
        elif name in want:
            r.headers[name] = value
    else:
        raise LinkError("too_long", "too many headers")
    if length is not None and length > limit:
        raise LinkError("too_long", "body of %d bytes" % length)
    acc = bytearray() if sink is None else None

    def take(mv):
        r.length += len(mv)
        if r.length > limit:
            raise LinkError("too_long", "body over %d bytes" % limit)
        if acc is None:
            sink.write(mv)
        else:
            acc.extend(mv)

    if chunked:
        while True:
            n = _length(await conn.line(), True)
            if n == 0:
                while await conn.line():     # trailers, up to the empty line
                    pass
                break
            if r.length + n > limit:
                raise LinkError("too_long", "body over %d bytes" % limit)
            while n:
                mv = await conn.some(n)
                n -= len(mv)
                take(mv)
            if await conn.line():
                raise LinkError(BAD_REPLY, "chunk not followed by CR LF")
    elif length is not None:
        n = length
        while n:
            mv = await conn.some(n)
            n -= len(mv)
            take(mv)
    else:
        while True:                          # HTTP/1.0 style: the body ends with the connection
            mv = await conn.rest()
            if mv is None:
                break
            take(mv)
    if acc is not None:
        r.body = bytes(acc)
    if not 200 <= r.status < 300:
        raise LinkError(STATUS, "%d" % r.status)
    return r


def tls_context(ca_der):
    """A client TLS context trusting only the TMS's CA (made for a call, dropped after it)."""
    import tls

    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    ctx.load_verify_locations(ca_der)
    return ctx


class Server:
    """Where the TMS is: address, port, the TLS name to check, its CA (DER), the time-out. The TLS
    context (3 KB of heap) is made for each request and dropped after it: between requests the call
    checks documents, and needs the room."""

    def __init__(self, ca_der, address, port, server_name, timeout_s):
        gc.collect()
        # the context's block, kept free between requests (a heap that checked a document is in
        # pieces): released just before the context is made, taken back after (as wasl.host.link)
        self._reserve = bytearray(_CTX_RESERVE)
        self.ca = ca_der
        self.address = address
        self.port = port
        self.server_name = server_name
        self.timeout_s = timeout_s

    def release(self):
        """Give the reserve back to the heap (to check a document); the next request does without."""
        self._reserve = None
        gc.collect()

    async def request(self, method, path, headers=(), body=None, want=(), sink=None, limit=4096):
        """One HTTPS request on a new connection. LinkError on any failure (connect, tls, timeout,
        closed, partial, too_long, status, bad_reply)."""
        self._reserve = None
        gc.collect()
        ctx = tls_context(self.ca)
        deadline = ticks_add(ticks_ms(), self.timeout_s * 1000)
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
                tls = ctx.wrap_socket(sock, server_side=False, do_handshake_on_connect=False,
                                           server_hostname=self.server_name)
            except (OSError, ValueError) as e:
                raise _classify(e, True)
            conn = Conn(tls, self.timeout_s)
            head = request_head(method, path, self.server_name, headers,
                                None if body is None else len(body))
            try:
                return await exchange(conn, head, body, want, sink, limit, deadline)
            except (OSError, ValueError) as e:    # nothing read yet: the handshake or the request failed
                raise _classify(e, not conn.got)
        finally:
            try:
                (tls or sock).close()
            except OSError:
                pass
            ctx = tls = sock = conn = None
            gc.collect()
            try:
                self._reserve = bytearray(_CTX_RESERVE)
            except MemoryError:
                pass
