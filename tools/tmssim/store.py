"""What the TMS simulator serves, on disk under its state directory, and how it is signed.

    <state>/pki/               the test CA and the server certificate (tms.wasl.test), as tools/acqsim
    <state>/signing.key        the test signing key (ECDSA P-256, PEM). Test only: a real TMS keeps it in an HSM
    <state>/signing.pub        its public key, 64 raw bytes X || Y: what a terminal holds as "tms_pub"
    <state>/params/<N>/        a parameter set: params.json [emv.json] manifest.json manifest.sig
    <state>/software/<V>/      a software bundle: wasl/... manifest.json manifest.sig
    <state>/faults.json        the faults to inject (see server.py), read at every request
    <state>/reports.jsonl      every status report received
"""
import base64
import datetime
import hashlib
import json
import os
import re
import shutil

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.acqsim import pki

SERVER_NAME = "tms.wasl.test"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def ensure_pki(state):
    """The TLS files (CA + server certificate for tms.wasl.test), made once: {name: path}."""
    d = os.path.join(state, "pki")
    paths = {f: os.path.join(d, f) for f in pki.FILES}
    if not all(os.path.isfile(p) for p in paths.values()):
        for name, data in _generate_tls().items():
            _write(paths[name], data, 0o600 if name.endswith(".key") else 0o644)
    return paths


def _generate_tls():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Wasl Test TMS CA")])
    ca = (pki._builder(name, name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(pki._usage(key_cert_sign=True, crl_sign=True), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (pki._builder(pki._name(SERVER_NAME), ca.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(pki._usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return {"ca.der": ca.public_bytes(serialization.Encoding.DER), "ca.pem": ca.public_bytes(pem),
            "server.pem": cert.public_bytes(pem),
            "server.key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())}


def signing_key(state):
    """The simulator's signing key (made once), and its public key as 64 raw bytes."""
    path = os.path.join(state, "signing.key")
    if not os.path.isfile(path):
        k = ec.generate_private_key(ec.SECP256R1())
        _write(path, k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()), 0o600)
    with open(path, "rb") as f:
        k = serialization.load_pem_private_key(f.read(), None)
    pub = k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)[1:]
    _write(os.path.join(state, "signing.pub"), pub)
    return k, pub


def sign(state, body):
    """ECDSA P-256 / SHA-256 signature of body: 128 hex digits (r || s)."""
    k, _ = signing_key(state)
    r, s = decode_dss_signature(k.sign(body, ec.ECDSA(hashes.SHA256())))
    return (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex()


def _manifest(state, d, kind, version, names):
    """A parameter set's manifest is JSON; a software bundle's is text, one line per file (the terminal
    reads it a line at a time): "wasl-software <version>", then "<sha256> <size> <path>" lines."""
    files = []
    for name in names:
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        files.append([name, len(data), hashlib.sha256(data).hexdigest()])
    if kind == "software":
        body = ("wasl-software %s\n" % version + "".join("%s %d %s\n" % (h, n, name) for name, n, h in files)).encode()
    else:
        body = json.dumps({"kind": kind, "version": version, "files": files}, indent=1).encode()
    _write(os.path.join(d, "manifest.json"), body)
    _write(os.path.join(d, "manifest.sig"), sign(state, body).encode())
    return body


def publish_params(state, doc, emv=None, raw=None):
    """A parameter set of version doc["version"] (raw: the exact bytes of params.json instead, for
    malformed documents). Returns its directory."""
    version = doc["version"] if raw is None else json.loads(raw)["version"]
    d = os.path.join(state, "params", str(version))
    shutil.rmtree(d, ignore_errors=True)
    _write(os.path.join(d, "params.json"), raw if raw is not None else json.dumps(doc, indent=1).encode())
    names = ["params.json"]
    if emv is not None:
        _write(os.path.join(d, "emv.json"), json.dumps(emv, indent=1).encode())
        names.append("emv.json")
    _manifest(state, d, "params", version, names)
    return d


def publish_software(state, src, version):
    """A software bundle of `version` from a directory holding wasl/... (every file but caches)."""
    d = os.path.join(state, "software", version)
    shutil.rmtree(d, ignore_errors=True)
    names = []
    for dirpath, dirnames, files in os.walk(os.path.join(src, "wasl")):
        dirnames[:] = sorted(n for n in dirnames if n != "__pycache__")
        for fn in sorted(files):
            if fn.endswith((".py", ".mpy")):
                rel = os.path.relpath(os.path.join(dirpath, fn), src).replace(os.sep, "/")
                _write(os.path.join(d, rel), open(os.path.join(dirpath, fn), "rb").read())
                names.append(rel)
    _manifest(state, d, "software", version, names)
    return d


def make_bundle(out, version, crash=False):
    """A copy of firmware/wasl as a bundle source, its VERSION set to `version`; crash=True makes a
    version that fails at boot (its wasl.app raises on import)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "firmware", "wasl"), os.path.join(out, "wasl"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    init = os.path.join(out, "wasl", "__init__.py")
    with open(init) as f:
        text = f.read()
    text = re.sub(r'VERSION = "[^"]*"', 'VERSION = "%s"' % version, text)
    with open(init, "w") as f:
        f.write(text)
    if crash:
        with open(os.path.join(out, "wasl", "app.py"), "a") as f:
            f.write('\nraise RuntimeError("this build crashes at boot")\n')
    return out


def latest(state, kind):
    """The newest version published of "params" (int) or "software" (dotted str), or None."""
    d = os.path.join(state, kind)
    if not os.path.isdir(d):
        return None
    vs = [v for v in os.listdir(d) if os.path.isfile(os.path.join(d, v, "manifest.json"))]
    if not vs:
        return None
    if kind == "params":
        return max(int(v) for v in vs)
    return max(vs, key=lambda v: tuple(int(x) for x in v.split(".")))


def install_key(state, data_dir):
    """Give a sim terminal the TMS verification key, as a technician's key injection would: the
    public key into its secure storage (<data>/secure/tms_pub)."""
    _, pub = signing_key(state)
    _write(os.path.join(str(data_dir), "secure", "tms_pub"), pub, 0o600)
    return pub


def terminal_params(info, interval_min=1440, timeout_s=10):
    """The "tms" block of a terminal's params.json for this simulator (info: its ready line)."""
    return {"address": info["address"], "port": info["port"], "server_name": info["server_name"],
            "ca": info["ca"], "interval_min": interval_min, "timeout_s": timeout_s}


def ca_b64(state):
    with open(ensure_pki(state)["ca.der"], "rb") as f:
        return base64.b64encode(f.read()).decode()


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()
