# The keys, first thing at boot (docs/keys.md): right after the board is built and before the application
# is loaded, the key store takes a TR-31 key block a technician left in the inbox, restores the DUKPT
# state, prepares the working keys of the next requests (wasl.crypto.txnkeys.KeySupply) and leaves RAM.
# Unwrapping a key block and building the DUKPT state so have the heap to themselves, the way a terminal
# restarts into key loading; later refills happen at idle, with the payment code unloaded.
from wasl import log, unload_package


def load(hw):
    """The transaction keys, or None: no secure storage on this board, no key injected, or a damaged
    state (the terminal then needs a key injection)."""
    if hw.secure_storage is None or not hw.secure_storage.get("kbpk"):
        # no key block protection key, so no key: the key store (and the names it would intern for
        # good) is not even loaded
        log.warn("keys", "no key block protection key: no PIN entry, no MAC")
        return None
    from wasl.crypto.keystore import KeyStore
    from wasl.crypto.txnkeys import KeyStoreError, KeySupply, unload_store

    ks = KeyStore(hw.secure_storage, inbox=hw.key_inbox)
    supply = None
    try:
        if ks.load():
            supply = KeySupply(hw.secure_storage)
            supply.refill(ks)
            st = supply.status
            log.info("keys", "%s, KSN %s, key check value %s", st["scheme"], st["ksn"], st["ik_kcv"])
        else:
            log.warn("keys", "no DUKPT key injected: no PIN entry, no MAC")
    except KeyStoreError as e:
        log.error("keys", "key store unusable (%s): %s", e.reason, e)
        supply = None
    finally:
        ks.wipe()
    ks = KeyStore = KeyStoreError = KeySupply = None
    unload_store()                     # the DUKPT registers and their code leave RAM
    if supply is None:
        unload_package("wasl.crypto")  # no key: the cryptography leaves RAM
    return supply
