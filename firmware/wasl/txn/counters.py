# STAN (field 11) and invoice (field 62) numbers: persisted before they are used, so a number is never
# handed out twice, even if power fails right after.
from wasl import store

_NAME = "counters.json"
_WRAP = 999999


class Counters:
    def __init__(self, root):
        self.root = root
        c = store.load(root, _NAME, None) or {}
        self.stan = int(c.get("stan", 0))
        self.invoice = int(c.get("invoice", 0))
        self.batch = int(c.get("batch", 1))

    def _save(self):
        store.save(self.root, _NAME, {"stan": self.stan, "invoice": self.invoice, "batch": self.batch})

    def allocate(self):
        """Next (STAN, invoice) for a new transaction, persisted in one write before use."""
        self.stan = self.stan % _WRAP + 1
        self.invoice = self.invoice % _WRAP + 1
        self._save()
        return self.stan, self.invoice
