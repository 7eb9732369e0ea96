# ECHO TEST from the merchant menu (wasl.txn.merchant): an 0800 to the acquirer, its answer on the
# screen. Loaded when chosen. (wasl.diag.echo is the same test without the screens.)
from wasl.host import admin
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError
from wasl.host.messages import APPROVED
from wasl.txn import online
from wasl.txn.batchops import take_stan
from wasl.txn.gate import link_failed


async def echo(term):
    ui = term.ui
    title = ui.t("echo")
    utc, _ = term.times()
    stan = take_stan(term.batch)
    ui.state("online")
    try:
        _, rep = await online.exchange(term, "0800", admin.echo(term.params, stan, utc), term.progress(title))
    except (LinkError, CodecError) as e:
        return await link_failed(term, title, e)
    ok = rep[39] == APPROVED
    await ui.message([title, ui.t("host_ok") if ok else "(%s)" % rep[39]], 5, "ok" if ok else "error",
                     "host_ok" if ok else "declined")
    return {"outcome": "host_ok" if ok else "declined"}
