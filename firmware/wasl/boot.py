# Boot: the board module (boards/<name>/board.py, deployed as board.py) builds the hardware objects, the
# keys are loaded, then the application runs. The application never names a pin.
import gc

import board
from wasl.update.slot import select  # noqa: E402

select(board)   # a software update's slot boots in place of this code (docs/tms.md); else returns
del select
gc.threshold(4096)   # collect often: garbage freed early keeps the long-lived blocks together
hw = board.build()
from wasl import keyload, unload  # noqa: E402

keys = keyload.load(hw)
del keyload
unload("wasl.keyload", "wasl.update.slot", "wasl.update")
from wasl import app  # noqa: E402

app.main(hw, keys)
