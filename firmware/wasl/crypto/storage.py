# The board's secure storage: get(name) -> bytes or None, put(name, bytes), delete(name). Apart from the
# key store (wasl/crypto/keystore.py) so that a board can make its storage, and the boot can look for a
# KBPK, without loading the key store's code.
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


class NvsSecureStorage:
    """ESP32: blobs in NVS (esp32.NVS), meant for an NVS partition encrypted by the IDF's NVS encryption.
    Nothing persists without commit(), so put() and delete() commit. (Plan: untested on a device.)"""

    def __init__(self, namespace="wasl_keys", max_size=1200):
        import esp32

        self._nvs = esp32.NVS(namespace)
        self._max = max_size

    def get(self, name):
        buf = bytearray(self._max)
        try:
            n = self._nvs.get_blob(name, buf)
        except OSError:
            return None
        return bytes(buf[:n])

    def put(self, name, data):
        self._nvs.set_blob(name, data)
        self._nvs.commit()

    def delete(self, name):
        try:
            self._nvs.erase_key(name)
            self._nvs.commit()
        except OSError:
            pass
