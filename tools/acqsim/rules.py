"""What the simulator does with a 0200: chosen by the minor units ("cents") of the amount.

The tables below are the whole behaviour; docs/host-interface.md section 10 and the README list the
same triggers (host_tests/test_acqsim.py checks that the doc table matches TRIGGERS).
"""
from dataclasses import dataclass

SALE = "000000"


@dataclass(frozen=True)
class Action:
    outcome: str        # ledger outcome: replied, no_reply, closed, garbage, late, wrong_stan, partial
    rc: str | None = None  # field 39 of the 0210 built for this request (None: no ISO 8583 reply at all)
    what: str = ""         # one-line description for the docs


DECLINE_CODES = ("01", "03", "05", "12", "13", "14", "30", "51", "54", "55", "57", "61", "91", "96")

SPECIAL = {
    99: Action("no_reply", None, "no reply: connection held open until the client closes or `--hold` s"),
    98: Action("closed", None, "connection closed right after the request is read"),
    97: Action("garbage", None, "framed reply of 20 bytes that are not ISO 8583"),
    95: Action("late", "00", "correct approval, sent after `--late-delay` s"),
    94: Action("wrong_stan", "00", "approval whose field 11 is another STAN"),
    93: Action("partial", "00", "length header for the whole approval, half of its bytes, then close"),
}

# cents -> Action; every other value approves.
TRIGGERS = {int(rc): Action("replied", rc, "declined with response code %s" % rc) for rc in DECLINE_CODES}
TRIGGERS.update(SPECIAL)

APPROVE = Action("replied", "00", "approved, field 38 holds a 6-character auth code")
# 0200s with another processing code are refused as "invalid transaction".
UNSUPPORTED = Action("replied", "12", "processing code not supported")


def decide(request):
    """Action for a decoded, format-checked 0200 request."""
    if request.get("3") != SALE:
        return UNSUPPORTED
    return TRIGGERS.get(int(request["4"]) % 100, APPROVE)
