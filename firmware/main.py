# Device entry point, kept to one line because the port compiles it from source at every boot
# (a fragmented heap is the price of compiling): the boot sequence is in wasl/boot.py, precompiled.
import wasl.boot  # noqa: F401
