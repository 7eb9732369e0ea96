# Store and forward, the advices (docs/host-interface.md "0220"): every sale approved offline is told
# to the host, oldest first, until the host answers. Sent at idle after the sale, again every
# offline.retry_s seconds while the host cannot be reached, and before a settlement. An advice needs no
# reversal: the host takes a repeated 0220 as the same advice.
from wasl import log
from wasl.host import messages
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError
from wasl.txn import online
from wasl.txn.batch import OFFLINE
from wasl.txn.batchops import transactions

_NOT_PROCESSED = "63"   # security violation (MAC): docs/host-interface.md, sections 7 and 15


async def send(term, progress=None):
    """Send the pending advices. True when none is left; False when the host could not be reached."""
    b = term.batch
    if not b.advices:
        return True
    owed = [s for s, _ in b.advices]
    for t in transactions(b):
        if t["s"] not in owed or t.get("rc") != OFFLINE or "adv" in t:
            continue
        utc, _ = term.times()
        try:
            _, rep = await online.exchange(term, "0220", messages.advice(term.params, t, utc), progress)
        except (LinkError, CodecError) as e:
            log.warn("advice", "stan %06d not sent: %s", t["s"], getattr(e, "reason", e))
            return False
        rc = rep[39]
        if rc == _NOT_PROCESSED:    # the host did nothing with this copy (bad MAC): it goes again
            log.warn("advice", "stan %06d not processed by the host (%s)", t["s"], rc)
            return False
        b.record({"e": "adv", "s": t["s"], "rc": rc, "r": (rep.get(37) or "").strip()})
        if rc == "00":
            log.info("advice", "stan %06d accepted", t["s"])
        else:
            log.warn("advice", "stan %06d refused by the host (%s): out of the totals", t["s"], rc)
    return not b.advices
