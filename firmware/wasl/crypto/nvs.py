# The ESP32's secure storage (see storage.py for the interface): apart, so that the sim does not load it.


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
