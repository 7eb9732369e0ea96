# Terminal management (docs/tms.md): the HTTPS client, the signed documents and the TMS call. Loaded for
# a call (at idle on schedule, or from the merchant menu) and dropped after it.
