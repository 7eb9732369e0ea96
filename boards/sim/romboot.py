# Desktop stand-in for a device booting from its ROMFS partition: mount the image named by WASL_ROMFS
# at /rom (executed in place, as from memory-mapped flash) and boot the firmware from it.
# Run precompiled: `micropython -m romboot`. The image is read into one buffer of its exact size,
# allocated first (the device maps flash instead).
import os
import sys
import vfs

_path = os.getenv("WASL_ROMFS")
_img = bytearray(os.stat(_path)[6])
with open(_path, "rb") as _f:
    _f.readinto(_img)
vfs.mount(vfs.VfsRom(memoryview(_img)), "/rom")
sys.path[:] = ["/rom", ".frozen"]   # nothing but the image (and the port's frozen modules)
del _f, _path
import wasl.boot  # noqa: E402,F401
