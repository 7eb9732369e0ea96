# Freezes Wasl into a custom MicroPython firmware for the ESP32 (docs/deploy.md, "A frozen firmware"):
#
#   cd micropython/ports/esp32
#   WASL_BOARD=esp32_generic make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/wasl/manifest.py
#
# The port's own frozen modules stay (its boards/manifest.py: asyncio and the rest); added are the wasl
# package, the board file (as `board`) and the shared board modules, compiled into the image and run from
# flash. main.py and the parameters stay files on the device: `make deploy CODE=board` copies them (and the
# board's modules, which then take precedence over the frozen ones: the file system comes first on
# sys.path). base_path is relative to this file.
import os

_board = os.environ.get("WASL_BOARD", "esp32_generic")

include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821 (the manifest's own functions)
package("wasl", base_path="firmware")  # noqa: F821
module("board.py", base_path="boards/" + _board)  # noqa: F821
module("esp32hw.py", base_path="boards/common")  # noqa: F821
