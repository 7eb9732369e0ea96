# Builders of the messages only the merchant menu sends (batch upload, bill inquiry, settlement,
# echo); loaded with the menu. docs/host-interface.md, sections 4, 5 and 11.
from wasl.host.messages import _base, _two, _txn, stored_card
from wasl.host.messages import PROC


def batch_upload(params, t, utc):
    """0320 for an approved transaction of the batch."""
    f = _txn(params, t, utc)
    f.pop(48, None)
    if t.get("r"):
        f[37] = t["r"]
    f[38] = t.get("au") or "      "
    f[39] = t["rc"]
    if "d" in t:            # approved offline: the card data goes with it (the host may lack the advice)
        stored_card(t, f)
    return f


def bill_inquiry(params, stan, bill, utc, local):
    """0100 asking the amount due on a bill."""
    f = _base(params, stan, utc)
    f[3] = PROC["inquiry"]
    f[12] = _two(local[3]) + _two(local[4]) + _two(local[5])
    f[13] = _two(local[1]) + _two(local[2])
    f[42] = params.merchant_id
    f[48] = bill
    f[49] = params.currency_code
    return f


def settlement(params, stan, batch, totals, utc, after_upload=False):
    """0500 with the batch totals (field 63)."""
    f = _base(params, stan, utc)
    f[3] = PROC["settle_final" if after_upload else "settle"]
    f[42] = params.merchant_id
    f[60] = "%06d" % batch
    f[63] = totals
    return f


def echo(params, stan, utc):
    f = _base(params, stan, utc)
    f[3] = PROC["echo"]
    return f
