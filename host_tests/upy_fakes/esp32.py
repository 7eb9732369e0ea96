# A stand-in for the ESP32's `esp32` module on the unix port (host_tests/test_boards.py): NVS in memory,
# with the device's rule that nothing persists without commit().
_COMMITTED = {}


class NVS:
    def __init__(self, namespace):
        self.ns = namespace
        self._pending = dict(_COMMITTED.get(namespace, {}))

    def set_blob(self, key, value):
        self._pending[key] = bytes(value)

    def get_blob(self, key, buf):
        v = _COMMITTED.get(self.ns, {}).get(key)
        if v is None:
            raise OSError(-4354)      # ESP_ERR_NVS_NOT_FOUND
        buf[:len(v)] = v
        return len(v)

    def erase_key(self, key):
        if key not in self._pending:
            raise OSError(-4354)
        del self._pending[key]

    def commit(self):
        _COMMITTED[self.ns] = dict(self._pending)
