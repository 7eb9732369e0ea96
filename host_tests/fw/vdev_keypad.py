# A keypad matrix for wasl.drivers.matrix_keypad: row and column fakebus.FakePins wired through
# switches. A column reads low when a closed switch joins it to a row driven low; otherwise its
# pull-up holds it high (no pull-up configured: it floats, read here as low, which a test notices).
# Reading a column allocates nothing, so the driver's scan can be checked under heap_lock().
from fakebus import FakePin


class KeypadMatrix:
    def __init__(self, nrows=4, ncols=4):
        self.nrows = nrows
        self.ncols = ncols
        self.rows = [FakePin("row%d" % r) for r in range(nrows)]
        self.cols = [FakePin("col%d" % c) for c in range(ncols)]
        self.closed = bytearray(nrows * ncols)
        read = self._col                       # one bound method for every column
        for c in range(ncols):
            self.cols[c].source = read
            self.cols[c].arg = c

    def _col(self, c):
        rows = self.rows
        for r in range(self.nrows):
            if self.closed[r * self.ncols + c] and rows[r].mode == FakePin.OUT and rows[r]._v == 0:
                return 0
        return 1 if self.cols[c].pull == FakePin.PULL_UP else 0

    def press(self, r, c):
        self.closed[r * self.ncols + c] = 1

    def release(self, r, c):
        self.closed[r * self.ncols + c] = 0

    def set(self, r, c, closed):
        self.closed[r * self.ncols + c] = 1 if closed else 0
