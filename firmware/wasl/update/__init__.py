# Software update (docs/tms.md): the application slots, the trial boot and the roll-back. slot.py runs at
# boot before the board is built; bundle.py is loaded by a TMS call.
