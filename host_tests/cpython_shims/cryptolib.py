"""CPython stand-in for MicroPython's built-in `cryptolib` (test-only, never on a MicroPython path).

The firmware's crypto modules import `cryptolib`; on the device and on the unix port that is the
built-in module (mbedTLS, hardware AES on the ESP32). On CPython this shim, backed by the
`cryptography` package, takes its place: host_tests/test_fw_units.py and the cross-check tests put
this directory on sys.path. It copies the built-in's behaviour as observed on the 1.29 unix port:

  aes(key, mode[, IV])   mode 1 = ECB, mode 2 = CBC (IV required); keys of 16 or 32 bytes only
  .encrypt(in[, out])    .decrypt(in[, out])   in: a multiple of 16 bytes; out, if given, at least
                         as long as in, is filled and returned; else a new bytes object is returned
  one object either encrypts or decrypts ("can't encrypt & decrypt"); CBC chains across calls
  errors are ValueError: "mode", "key", "IV", "blksize % 16", "output too small"
"""
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MODE_ECB = 1
MODE_CBC = 2


class aes:  # noqa: N801  (the built-in's name)
    def __init__(self, key, mode, IV=None):  # noqa: N803
        if mode not in (MODE_ECB, MODE_CBC):
            raise ValueError("mode")
        key = bytes(key)
        if len(key) not in (16, 32):
            raise ValueError("key")
        if mode == MODE_CBC:
            if IV is None or len(IV) != 16:
                raise ValueError("IV")
            self._mode = modes.CBC(bytes(IV))
        else:
            self._mode = modes.ECB()
        self._cipher = Cipher(algorithms.AES(key), self._mode)
        self._ctx = None
        self._dir = None

    def _run(self, direction, data, out):
        if self._dir is None:
            self._dir = direction
            self._ctx = self._cipher.encryptor() if direction == "enc" else self._cipher.decryptor()
        elif self._dir != direction:
            raise ValueError("can't encrypt & decrypt")
        data = bytes(data)
        if len(data) % 16:
            raise ValueError("blksize % 16")
        res = self._ctx.update(data)
        if out is None:
            return res
        if len(out) < len(res):
            raise ValueError("output too small")
        out[:len(res)] = res
        return out

    def encrypt(self, data, out=None):
        return self._run("enc", data, out)

    def decrypt(self, data, out=None):
        return self._run("dec", data, out)
