# The terminal's cryptography (docs/keys.md): AES through the port's cryptolib, CMAC, DES/TDES in tree,
# DUKPT (ANSI X9.24-3-2017 AES, X9.24-1-2009 TDES), ISO 9564-1 PIN blocks, TR-31 key blocks, key store.
