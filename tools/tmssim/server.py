"""The TMS simulator: HTTPS (a generated test CA, like tools/acqsim) serving signed parameter sets and
software bundles to terminals, and taking their status reports (docs/tms.md).

    python -m tools.tmssim --state var/tmssim [--port 8443]
    python -m tools.tmssim --state var/tmssim publish-params params.json [--emv emv.json]
    python -m tools.tmssim --state var/tmssim publish-software DIR VERSION   # DIR holds wasl/...
    python -m tools.tmssim --state var/tmssim install-key --data var/sim      # the terminal's tms_pub

API (one request per connection):
    POST /v1/status                       the terminal's report -> {"params": N, "software": "V"}
    GET  /v1/params/manifest              the newest parameter set's manifest, X-Wasl-Signature
    GET  /v1/params/<name>                one of its files (Range supported)
    GET  /v1/software/<V>/manifest        a bundle's manifest, X-Wasl-Signature
    GET  /v1/software/<V>/<path>          one of its files (Range supported)

Faults, from <state>/faults.json at every request (tests write it; {} for none):
    "hang": true                          read the request, never answer
    "truncate": true                      file bodies: half of the bytes announced, then close
    "tamper": "file" | "manifest"         one byte of every file changed / the manifest changed after signing
    "chunked": true                       bodies in chunked transfer encoding
    "status_code": 503                    /v1/status fails with this status
    "offer": {"params": N, "software": V} what /v1/status offers (default: the newest published)
"""
import argparse
import base64
import http.server
import json
import os
import re
import signal
import ssl
import sys
import threading
import time

from . import store


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wasl-tmssim"

    def log_message(self, fmt, *args):
        sys.stderr.write("tmssim: %s %s\n" % (self.address_string(), fmt % args))

    @property
    def state(self):
        return self.server.state

    def faults(self):
        try:
            with open(os.path.join(self.state, "faults.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _log(self, entry):
        entry["t"] = store.now()
        with self.server.lock, open(os.path.join(self.state, "requests.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")

    def _hang(self, f):
        if f.get("hang"):
            self._log({"path": self.path, "hung": True})
            end = time.monotonic() + 600
            while time.monotonic() < end and not self.server.stopping:
                time.sleep(0.2)
            self.close_connection = True
            return True
        return False

    def _send(self, code, body, headers=(), f=None, is_file=False):
        f = f or {}
        chunked = f.get("chunked")
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Connection", "close")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if is_file and f.get("truncate") and len(body) > 1:
            body = body[:len(body) // 2]
            if chunked:
                self.wfile.write(b"%x\r\n" % len(body) + body)
            else:
                self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        if chunked:
            for i in range(0, len(body), 700):
                part = body[i:i + 700]
                self.wfile.write(b"%x;x=1\r\n" % len(part) + part + b"\r\n")
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
        else:
            self.wfile.write(body)
        self.close_connection = True

    def _file(self, path, f):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return self._send(404, b"not found", f=f)
        if f.get("tamper") == "file" and data:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x20
            data = bytes(data)
        code = 200
        headers = [("Content-Type", "application/octet-stream")]
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            if start > end:
                return self._send(416, b"", f=f)
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, len(data))))
            data = data[start:end + 1]
            code = 206
        self._log({"path": self.path, "range": self.headers.get("Range"), "bytes": len(data),
                   "terminal": self.headers.get("X-Wasl-Terminal")})
        self._send(code, data, headers, f, is_file=True)

    def _manifest(self, d, f):
        try:
            with open(os.path.join(d, "manifest.json"), "rb") as fh:
                body = fh.read()
            with open(os.path.join(d, "manifest.sig"), "rb") as fh:
                sig = fh.read().decode()
        except OSError:
            return self._send(404, b"not found", f=f)
        if f.get("tamper") == "manifest":     # one character changed after signing
            body = body.replace(b'"files"', b'"files" ', 1) if body.startswith(b"{") else body.replace(b" ", b"  ", 1)
        self._log({"path": self.path, "terminal": self.headers.get("X-Wasl-Terminal")})
        ctype = "application/json" if body.startswith(b"{") else "text/plain"
        self._send(200, body, [("Content-Type", ctype), ("X-Wasl-Signature", sig)], f)

    def do_GET(self):
        f = self.faults()
        if self._hang(f):
            return
        p = self.path.split("?")[0]
        parts = [x for x in p.split("/") if x]
        if ".." in parts or len(parts) < 3 or parts[0] != "v1":
            return self._send(404, b"not found", f=f)
        if parts[1] == "params":
            v = store.latest(self.state, "params")
            if v is None:
                return self._send(404, b"no parameters", f=f)
            d = os.path.join(self.state, "params", str(v))
            if parts[2] == "manifest":
                return self._manifest(d, f)
            return self._file(os.path.join(d, "/".join(parts[2:])), f)
        if parts[1] == "software" and len(parts) >= 4:
            d = os.path.join(self.state, "software", parts[2])
            if parts[3] == "manifest":
                return self._manifest(d, f)
            return self._file(os.path.join(d, "/".join(parts[3:])), f)
        self._send(404, b"not found", f=f)

    def do_POST(self):
        f = self.faults()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 65536)) if n else b""
        if self._hang(f):
            return
        if self.path != "/v1/status":
            return self._send(404, b"not found", f=f)
        try:
            report = json.loads(body)
        except ValueError:
            return self._send(400, b"bad report", f=f)
        with self.server.lock, open(os.path.join(self.state, "reports.jsonl"), "a") as fh:
            fh.write(json.dumps({"t": store.now(), "report": report}) + "\n")
        self._log({"path": self.path, "terminal": self.headers.get("X-Wasl-Terminal")})
        if f.get("status_code"):
            return self._send(int(f["status_code"]), b"unavailable", f=f)
        offer = {"params": store.latest(self.state, "params"), "software": store.latest(self.state, "software")}
        offer.update(f.get("offer") or {})
        self._send(200, json.dumps(offer).encode(), [("Content-Type", "application/json")], f)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, state):
        super().__init__(addr, Handler)
        self.state = state
        self.lock = threading.Lock()
        self.stopping = False
        paths = store.ensure_pki(state)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(paths["server.pem"], paths["server.key"])
        self.ctx = ctx

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(30)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError):
            sock.close()
            raise OSError("TLS handshake failed")

    def handle_error(self, request, client_address):
        sys.stderr.write("tmssim: connection from %s ended: %s\n" % (client_address, sys.exc_info()[1]))


def serve(state, host, port):
    os.makedirs(state, exist_ok=True)
    store.signing_key(state)
    srv = Server((host, port), state)

    def stop(*_):
        srv.stopping = True
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"ready": True, "address": host, "port": srv.server_address[1],
                      "server_name": store.SERVER_NAME, "ca": store.ca_b64(state),
                      "pub": open(os.path.join(state, "signing.pub"), "rb").read().hex()}), flush=True)
    srv.serve_forever()
    srv.server_close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.tmssim", description="Wasl TMS simulator")
    ap.add_argument("--state", default="var/tmssim")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8443)
    sub = ap.add_subparsers(dest="cmd")
    p = sub.add_parser("publish-params")
    p.add_argument("params")
    p.add_argument("--emv")
    p = sub.add_parser("publish-software")
    p.add_argument("dir")
    p.add_argument("version")
    p = sub.add_parser("install-key")
    p.add_argument("--data", default="var/sim")
    a = ap.parse_args(argv)
    if a.cmd == "publish-params":
        with open(a.params, "rb") as f:
            raw = f.read()
        emv = json.load(open(a.emv)) if a.emv else None
        print(store.publish_params(a.state, None, emv, raw=raw))
    elif a.cmd == "publish-software":
        print(store.publish_software(a.state, a.dir, a.version))
    elif a.cmd == "install-key":
        store.install_key(a.state, a.data)
        print("TMS verification key installed in %s/secure/tms_pub" % a.data)
    else:
        serve(a.state, a.host, a.port)
    return 0
