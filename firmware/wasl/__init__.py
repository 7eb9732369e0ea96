# Wasl payment terminal firmware. Runs on the MicroPython esp32 and unix ports; pure logic also on CPython.
VERSION = "0.1.0"


class Params:
    """The terminal's parameters as attributes, filled at boot by wasl.params.load (which checks the
    document and then leaves RAM: this class, not the checker, stays resident)."""


def unload(*names):
    """Drop modules from RAM (code loaded for one phase of the work). Objects still referenced stay
    alive, and with them the module they were made by."""
    import sys

    for name in names:
        mod = sys.modules.pop(name, None)
        if mod is None:
            continue
        parent, _, child = name.rpartition(".")
        pkg = sys.modules.get(parent)
        if pkg is not None and getattr(pkg, child, None) is mod:
            delattr(pkg, child)


def unload_package(prefix):
    """Drop a package and every module under it (e.g. "wasl.emv" after a chip transaction)."""
    import sys

    names = [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]
    names.sort(reverse=True)          # submodules before their package
    unload(*names)
