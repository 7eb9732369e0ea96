"""Wasl acquirer simulator: a TLS host for docs/host-interface.md (see README.md in this directory).

    python -m tools.acqsim --state DIR      # serve; prints one JSON "ready" line on stdout
    python -m tools.acqsim.pki DIR          # only make the test PKI in DIR
"""
