# The sim board's power-fail injection, loaded only when WASL_POWERCUT is set (power-cut tests).
# WASL_POWERCUT=before:N or after:N: at the Nth journal write, the power fails. "before" writes half of
# the record first (a torn write), "after" cuts right after the record is committed. The board reports
# it and freezes; the harness then kills the process, as a power cut would.
import os
import time

from board import JOURNAL_ROOT, emit


def hook():
    """The journal's write hook (hw.powerfail) for the cut WASL_POWERCUT names."""
    spec = os.getenv("WASL_POWERCUT")
    phase, _, n = spec.partition(":")
    at = int(n)

    def cut(when, count, hdr, payload):
        if when != phase or count != at:
            return
        if when == "before":
            with open(JOURNAL_ROOT + "/journal", "ab") as f:
                f.write(hdr)
                f.write(payload[:len(payload) // 2])
        emit({"ev": "powercut", "at": spec})
        while True:
            time.sleep(1)

    return cut
