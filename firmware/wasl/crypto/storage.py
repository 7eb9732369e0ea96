# The board's secure storage: get(name) -> bytes or None, put(name, bytes), delete(name). Apart from the
# key store (wasl/crypto/keystore.py) so that a board can make its storage, and the boot can look for a
# KBPK, without loading the key store's code. The ESP32's (NVS) is in nvs.py, found here too.
import os


class FileSecureStorage:
    """The sim's secure storage: one file per name in a directory, replaced atomically (write, rename).
    Not secure at all: it stands in for the ESP32's encrypted NVS."""

    def __init__(self, root):
        self.root = root

    def _path(self, name):
        return self.root + "/" + name

    def get(self, name):
        try:
            with open(self._path(name), "rb") as f:
                return f.read()
        except OSError:
            return None

    def put(self, name, data):
        try:
            os.mkdir(self.root)
        except OSError:
            pass
        tmp = self._path(name) + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
        os.rename(tmp, self._path(name))

    def delete(self, name):
        try:
            os.remove(self._path(name))
        except OSError:
            pass


def __getattr__(name):
    # The ESP32's storage (NvsSecureStorage) is in wasl/crypto/nvs.py: the sim never interns its names.
    from wasl.crypto import nvs

    return getattr(nvs, name)
