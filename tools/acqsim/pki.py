"""Test PKI for the acquirer simulator: an EC P-256 CA and a server certificate it signs.

    python -m tools.acqsim.pki DIR     # make DIR/{ca.der,ca.pem,server.pem,server.key} if missing

The files are generated once and reused; the CA private key is never written, so nothing else can be
issued under this CA. Delete the directory to start over.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "Wasl Test Acquirer CA"
SERVER_NAME = "acquirer.wasl.test"
FILES = ("ca.der", "ca.pem", "server.pem", "server.key")
# Fixed, wide validity (UTCTime range) so terminals with an unset or odd clock still accept it.
NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject, issuer, public_key):
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _usage(**bits):
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
    return x509.KeyUsage(**{n: bits.get(n, False) for n in names})


def generate(server_name=SERVER_NAME):
    """Return {file name: bytes} for a fresh CA + server certificate."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (_builder(_name(CA_NAME), _name(CA_NAME), ca_key.public_key())
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (_builder(_name(server_name), ca_cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return {
        "ca.der": ca_cert.public_bytes(serialization.Encoding.DER),
        "ca.pem": ca_cert.public_bytes(pem),
        "server.pem": cert.public_bytes(pem),
        "server.key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    }


def ensure(directory):
    """Make sure `directory` holds the PKI files (generate all of them if any is missing).

    Returns {file name: absolute path}."""
    directory = os.path.abspath(directory)
    paths = {f: os.path.join(directory, f) for f in FILES}
    if not all(os.path.isfile(p) for p in paths.values()):
        os.makedirs(directory, exist_ok=True)
        for fname, data in generate().items():
            tmp = paths[fname] + ".tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if fname.endswith(".key") else 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, paths[fname])
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tools.acqsim.pki DIR")
    for path in ensure(sys.argv[1]).values():
        print(path)
