# The acquirer echo: the merchant menu's host test (wasl.txn.echo.echo) without its screens. The same
# message builder (wasl.host.admin.echo), the same exchange (wasl.txn.online: KSN and MAC when the
# terminal has keys, reply validated and its MAC checked), the same TLS link and STAN journal.
from wasl.diag import FAIL, PASS, SKIPPED

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    from wasl.diag.run import ticks_diff, ticks_ms


class _Term:
    """What wasl.txn.online.exchange uses of the application's Terminal."""

    def __init__(self, params, codec, link, keys):
        self.params = params
        self.codec = codec
        self.link = link
        self.keys = keys


def _keys(hw):
    """One request's keys from the key store (wasl.crypto.txnkeys.KeySupply), as the payment flow
    takes them; None without a KBPK or a DUKPT key: the echo then goes without KSN and MAC, as the
    menu's does on such a terminal."""
    s = hw.secure_storage
    if s is None or not s.get("kbpk"):
        return None
    from wasl.crypto.txnkeys import KeyStoreError, KeySupply

    keys = KeySupply(s, depth=1)
    try:
        keys.refill()
    except KeyStoreError:
        return None
    return keys


async def echo(ctx):
    hw = ctx.hw
    p = ctx.params
    if p is None:
        return SKIPPED, "parameters unusable: %s" % ctx.param_error
    import gc

    from wasl import unload
    from wasl.host.link import Link, LinkError, tls_context

    tls = tls_context()           # as at boot: the largest block first, while the heap is in one piece
    keys = _keys(hw)              # the key store comes and goes (wasl.crypto.txnkeys.unload_store)
    from wasl.host.iso8583 import Codec, CodecError
    from wasl.host.spec import SPEC

    codec = Codec(SPEC)
    SPEC = None
    unload("wasl.host.spec")      # the codec keeps its own table
    gc.collect()
    from wasl.host import admin
    from wasl.host.messages import APPROVED
    from wasl.txn import online
    from wasl.txn.batch import Batch
    from wasl.txn.batchops import take_stan
    from wasl.txn.journal import Journal
    from wasl.txn.journal_tools import repair

    journal = Journal(hw.journal_root, powerfail=hw.powerfail)
    repair(journal)               # as at boot: a torn last record goes before anything is appended
    term = _Term(p, codec, Link.from_params(tls, p), keys)
    stan = take_stan(Batch(journal))
    journal.close()
    utc = hw.clock.gmtime(int(hw.clock.time()))
    facts = {"host": "%s:%d" % (p.host_address, p.host_port), "stan": stan, "mac": keys is not None}
    t0 = ticks_ms()
    try:
        _, rep = await online.exchange(term, "0800", admin.echo(p, stan, utc))
    except LinkError as e:
        facts["ms"] = ticks_diff(ticks_ms(), t0)
        return FAIL, "link: %s %s" % (e.reason, e.detail), facts
    except CodecError as e:
        return FAIL, "reply refused: %s" % e, facts
    finally:
        journal.close()
        if keys is not None:
            keys.wipe()
    facts["ms"] = ticks_diff(ticks_ms(), t0)
    facts["rc"] = rep[39]
    if rep[39] != APPROVED:
        return FAIL, "host answered %s" % rep[39], facts
    return PASS, "host answered 00 in %d ms%s" % (facts["ms"], " (MAC checked)" if keys is not None else ""), facts
