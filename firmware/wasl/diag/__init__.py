# Technician self-tests (docs/diagnostics.md): loaded for diagnostics only, never during a sale.
# wasl.diag.run runs the parts and prints a signed report; each part lives in a small module of its
# own group and is loaded only when it runs:
#   system   versions, clock, storage (free space, journal integrity), keys (check values), battery
#   echo     the acquirer echo (0800) through the real link
#   devices  display pattern, printer test page, keypad, card reader
#   radio    Wi-Fi and modem
# A part is `async def <part>(ctx)` returning (verdict, detail) or (verdict, detail, facts): verdict
# PASS, FAIL or SKIPPED, detail one line for the technician, facts a small dict for support. No part
# ever returns a PAN, track data, a PIN or a key.
PASS = "PASS"
FAIL = "FAIL"
SKIPPED = "SKIPPED"

# Every part, in the order a technician meets them, with the module that holds it.
PARTS = (("versions", "system"), ("clock", "system"), ("storage", "system"), ("keys", "system"),
         ("battery", "system"), ("echo", "echo"), ("display", "devices"), ("printer", "devices"),
         ("keypad", "devices"), ("card", "devices"), ("wifi", "radio"), ("modem", "radio"))


def iso_utc(clock, t=None):
    """The board clock's time as ISO 8601 UTC text (the clock's gmtime: right whatever the port's epoch)."""
    g = clock.gmtime(int(clock.time() if t is None else t))
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % tuple(g[:6])
