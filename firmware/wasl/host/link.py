# The framed TLS link to the acquirer (docs/host-interface.md, section 1):
# one TCP+TLS connection per exchange, 2-byte big-endian length header, server certificate verified
# against the CA from the parameters and the host name checked.
import asyncio
import gc
import ssl

from wasl import log

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_REPLY = const(2048)
_RESERVE = const(1536)   # bytes kept free, in one piece, for the TLS session's objects

# LinkError.reason values (each has a message in wasl/ui/strings.py as "link_<reason>").
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
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _is_tls_error(e):
    # mbedTLS (MicroPython) reports verification failures as ValueError or as OSError with a negative
    # code; CPython raises ssl.SSLError (a subclass of OSError) / ssl.SSLCertVerificationError.
    if isinstance(e, ValueError):
        return True
    if isinstance(e, OSError):
        code = e.args[0] if e.args else 0
        if isinstance(code, int) and code < 0:
            return True
        return "SSL" in type(e).__name__ or "CERTIFICATE" in str(e).upper()
    return False


async def _read_into(reader, mv, got_any):
    """Fill the memoryview mv from the stream; LinkError if the stream ends first."""
    n = len(mv)
    got = 0
    while got < n:
        if hasattr(reader, "readinto"):          # MicroPython: no allocation
            k = await reader.readinto(mv[got:])
        else:                                      # CPython asyncio
            chunk = await reader.read(n - got)
            k = len(chunk)
            mv[got:got + k] = chunk
        if not k:
            raise LinkError(PARTIAL if (got_any or got) else CLOSED)
        got += k


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
        self._reserve = bytearray(_RESERVE)

    @classmethod
    def from_params(cls, ctx, p):
        return cls(ctx, p.host_address, p.host_port, p.host_server_name, p.host_ca,
                   p.host_connect_timeout_s, p.host_reply_timeout_s)

    async def _connect(self):
        self._reserve = None
        gc.collect()
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection(self.address, self.port, ssl=self._ctx,
                                        server_hostname=self.server_name),
                self.connect_timeout_s)
        except asyncio.TimeoutError:
            raise LinkError(CONNECT, "connect time-out")
        except MemoryError:
            raise
        except Exception as e:
            if _is_tls_error(e):
                raise LinkError(TLS, str(e).strip())
            raise LinkError(CONNECT, str(e).strip())
        return r, w

    async def exchange(self, request, reply_buf, progress=None):
        """Send one framed request; read the reply into reply_buf (may be the buffer the request lives
        in: the request is fully sent first). Return a memoryview of the reply. Raise LinkError.

        `progress(stage)` is called with 'connecting', 'sending', 'waiting'."""
        if progress:
            progress("connecting")
        try:
            r, w = await self._connect()
        except BaseException:
            self._rearm()
            raise
        try:
            n = len(request)
            hdr = self._hdr
            hdr[0] = n >> 8
            hdr[1] = n & 0xFF
            if progress:
                progress("sending")
            try:
                # MicroPython's TLS stream completes the handshake on first write: a certificate
                # problem surfaces here.
                w.write(hdr)
                w.write(request)
                await asyncio.wait_for(w.drain(), self.connect_timeout_s)
            except asyncio.TimeoutError:
                raise LinkError(CONNECT, "send time-out")
            except (LinkError, MemoryError):
                raise
            except Exception as e:
                raise LinkError(TLS if _is_tls_error(e) else CONNECT, str(e).strip())
            if progress:
                progress("waiting")
            try:
                return await asyncio.wait_for(self._read_reply(r, reply_buf), self.reply_timeout_s)
            except asyncio.TimeoutError:
                raise LinkError(TIMEOUT)
            except (LinkError, MemoryError):
                raise
            except Exception as e:
                raise LinkError(PARTIAL, str(e).strip())
        finally:
            try:
                w.close()
                await w.wait_closed()
            except Exception:
                pass
            self._rearm()

    def _rearm(self):
        gc.collect()
        try:
            self._reserve = bytearray(_RESERVE)
        except MemoryError:
            log.warn("link", "TLS reserve not re-armed")

    async def _read_reply(self, r, buf):
        hdr = self._hdr
        await _read_into(r, memoryview(hdr), False)
        n = (hdr[0] << 8) | hdr[1]
        if n == 0 or n > min(_MAX_REPLY, len(buf)):
            raise LinkError(TOO_LONG, "reply length %d" % n)
        mv = memoryview(buf)[:n]
        await _read_into(r, mv, True)
        log.debug("link", "reply %d bytes", n)
        return mv
