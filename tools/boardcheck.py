"""Check ESP32 board files (boards/<board>/board.py) without running them.

    python -m tools.boardcheck [BOARD_OR_FILE ...]     (default: every boards/*/board.py but sim's)

A board file imports `machine`, so it is not imported here: its PINS and DRIVERS dicts are read with ast
(literals, and names bound to literals earlier in the file). A board fails, with one line per problem
naming the entry, when:
  - a GPIO number appears twice, across all PINS entries, their tuples and their dicts;
  - a GPIO is not one the ESP32 (WROOM-32) has: 0-5, 12-19, 21-23, 25-27, 32-39; 6-11 are the flash, 1
    and 3 are UART0 (the USB REPL that mpremote and the diagnostics use);
  - an input-only GPIO (34-39) is used as an output, or as a keypad column (no internal pull-up), or a
    battery ADC is not on ADC1 (32-39: ADC2 does not read while Wi-Fi is on);
  - a bus lacks a line (I2C: scl, sda; SPI: sck, mosi; UART: tx and rx, or the port takes its default
    pins, the flash's for UART 1), uses UART 0, or two buses of one kind share an id;
  - DRIVERS names a driver module that is not in firmware/wasl/drivers/, a part or a driver for that part
    that boards/common/esp32hw.py does not know, or a PINS entry that does not exist;
  - a display "font" on anything but a graphic display (ssd1306, st7789) or other than font16 (the font
    that draws Arabic), a printer "codepage" / "arabic_codepage" that is not an ESC t number (0-255).
Which PINS values are outputs: in a dict, every line but rx, miso, irq and cts; at the top level, every
entry but those named *_cols (inputs with pull-up), *_adc (analogue) and *_in / *_irq / *_sense (inputs).
The dict keys id, baud and freq are settings, not pins (esp32hw.SETTINGS). A GPIO12 in use is a warning:
it sets the flash voltage at reset, so nothing may pull it up.
Exit status 0 when every board passes, 1 when one fails, 2 for a file that cannot be read.
"""
import argparse
import ast
import copy
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVERS_DIR = os.path.join(ROOT, "firmware", "wasl", "drivers")
COMMON = os.path.join(ROOT, "boards", "common", "esp32hw.py")

GPIOS = set(range(0, 6)) | set(range(12, 20)) | {21, 22, 23, 25, 26, 27} | set(range(32, 40))
FLASH = set(range(6, 12))
REPL = {1, 3}
INPUT_ONLY = set(range(34, 40))
ADC1 = set(range(32, 40))
INPUT_LINES = ("rx", "miso", "irq", "cts")
INPUT_SUFFIXES = ("_in", "_irq", "_sense")
BUS_IDS = {"I2C": (0, 1), "SPI": (1, 2), "UART": (1, 2)}


class BoardFileError(Exception):
    pass


def _rel(path):
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def _literal(node, env):
    """The value of an expression made of literals and names bound to literals in `env`."""
    class Names(ast.NodeTransformer):
        def visit_Name(self, n):
            if n.id not in env:
                raise ValueError("name %r is not a literal defined above" % n.id)
            return ast.copy_location(ast.parse(repr(env[n.id]), mode="eval").body, n)

    return ast.literal_eval(Names().visit(copy.deepcopy(node)))


def literals(source, filename="<board>"):
    """Top-level NAME = <literal> assignments of a Python source, in order, as a dict."""
    env = {}
    for node in ast.parse(source, filename).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            continue
        try:
            env[target] = _literal(value, env)
        except ValueError:
            continue       # not a literal (a class, a call): not data, not ours to check
    return env


def common_tables(path=COMMON):
    """ROLES ((part, (drivers...)), ...) and SETTINGS from boards/common/esp32hw.py."""
    with open(path, encoding="utf-8") as f:
        env = literals(f.read(), path)
    return dict(env["ROLES"]), tuple(env["SETTINGS"])


def driver_modules(drivers_dir=DRIVERS_DIR):
    return sorted(f[:-3] for f in os.listdir(drivers_dir) if f.endswith(".py") and f != "__init__.py")


def _bus_kind(d):
    if "scl" in d or "sda" in d:
        return "I2C"
    if "sck" in d or "mosi" in d or "miso" in d:
        return "SPI"
    if "tx" in d or "rx" in d:
        return "UART"
    return None


def _walk_pins(pins, settings):
    """(label, gpio, use) for every pin value in PINS; use: 'out', 'in', 'in_pullup' or 'adc'."""
    out = []
    for key, val in pins.items():
        label = "PINS[%r]" % key
        if isinstance(val, dict):
            for line, n in val.items():
                if line in settings:
                    continue
                use = "in" if line in INPUT_LINES else "out"
                for i, m in enumerate(n if isinstance(n, (tuple, list)) else (n,)):
                    sub = "%s[%r]" % (label, line) + ("[%d]" % i if isinstance(n, (tuple, list)) else "")
                    out.append((sub, m, use))
            continue
        if key.endswith("_cols"):
            use = "in_pullup"
        elif key.endswith("_adc"):
            use = "adc"
        elif key.endswith(INPUT_SUFFIXES):
            use = "in"
        else:
            use = "out"
        if isinstance(val, (tuple, list)):
            out += [("%s[%d]" % (label, i), m, use) for i, m in enumerate(val)]
        else:
            out.append((label, val, use))
    return out


def check(pins, drivers, roles, settings, modules):
    """Problems (list of str) and warnings (list of str) of a board's PINS and DRIVERS."""
    problems, warnings = [], []
    if not isinstance(pins, dict):
        return ["PINS is not a dict"], warnings
    if not isinstance(drivers, dict):
        return ["DRIVERS is not a dict"], warnings
    seen = {}
    for label, n, use in _walk_pins(pins, settings):
        if n is None:
            continue                                  # not connected
        if isinstance(n, bool) or not isinstance(n, int):
            problems.append("%s: %r is not a GPIO number" % (label, n))
            continue
        if n in seen:
            problems.append("GPIO%d used twice: %s and %s" % (n, seen[n], label))
        else:
            seen[n] = label
        if n in FLASH:
            problems.append("%s: GPIO%d is a flash pin (6-11)" % (label, n))
        elif n in REPL:
            problems.append("%s: GPIO%d is UART0, the USB REPL (mpremote, diagnostics)" % (label, n))
        elif n not in GPIOS:
            problems.append("%s: GPIO%d does not exist on the ESP32 (0-5, 12-19, 21-23, 25-27, 32-39)" % (label, n))
        elif use == "out" and n in INPUT_ONLY:
            problems.append("%s: GPIO%d is input only (34-39) but used as an output" % (label, n))
        elif use == "in_pullup" and n in INPUT_ONLY:
            problems.append("%s: GPIO%d has no internal pull-up (34-39) for a keypad column" % (label, n))
        elif use == "adc" and n not in ADC1:
            problems.append("%s: GPIO%d is not on ADC1 (32-39; ADC2 does not read with Wi-Fi on)" % (label, n))
        if n == 12:
            warnings.append("%s: GPIO12 sets the flash voltage at reset: nothing may pull it up" % label)
    ids = {}
    for key, val in pins.items():
        if not isinstance(val, dict):
            continue
        kind = _bus_kind(val)
        if "id" not in val:
            continue                                  # a device's control lines, not a bus
        if kind is None:
            problems.append("PINS[%r]: a bus id without bus lines (scl/sda, sck/mosi or tx/rx)" % key)
            continue
        need = {"I2C": ("scl", "sda"), "SPI": ("sck", "mosi"), "UART": ("tx", "rx")}[kind]
        missing = [line for line in need if val.get(line) is None]
        if missing:
            why = " (the port would take its default pins)" if kind == "UART" else ""
            problems.append("PINS[%r]: %s bus without %s%s" % (key, kind, " and ".join(missing), why))
        if val["id"] not in BUS_IDS[kind]:
            problems.append("PINS[%r]: %s(%r) is not available (use %s)" % (
                key, kind, val["id"], " or ".join(str(i) for i in BUS_IDS[kind])))
        other = ids.get((kind, val["id"]))
        if other is not None:
            problems.append("PINS[%r]: %s(%r) is already PINS[%r]" % (key, kind, val["id"], other))
        ids[(kind, val["id"])] = key
    for role, cfg in drivers.items():
        label = "DRIVERS[%r]" % role
        if cfg is None:
            continue
        if role not in roles:
            problems.append("%s: no such part (boards/common/esp32hw.py knows %s)" % (label, ", ".join(sorted(roles))))
        if not isinstance(cfg, dict) or not isinstance(cfg.get("driver"), str):
            problems.append("%s: must be a dict with a \"driver\" (a module of firmware/wasl/drivers/) or None" % label)
            continue
        drv = cfg["driver"]
        if "font" in cfg and (drv not in ("ssd1306", "st7789") or cfg["font"] not in ("font16", None)):
            problems.append("%s: \"font\" %r: only a graphic display (ssd1306, st7789) takes one, and only "
                            "font16 exists" % (label, cfg["font"]))
        for key in ("codepage", "arabic_codepage"):
            n = cfg.get(key)
            if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 255):
                problems.append("%s: %s %r must be an ESC t number (0-255) or None" % (label, key, n))
        if drv not in modules:
            problems.append("%s: driver %r does not exist in firmware/wasl/drivers/ (there: %s)" % (
                label, drv, ", ".join(modules)))
        elif role in roles and drv not in roles[role]:
            problems.append("%s: driver %r cannot be the %s (boards/common/esp32hw.py: %s)" % (
                label, drv, role, ", ".join(roles[role])))
        bus = cfg.get("bus")
        if bus is not None:
            if bus not in pins:
                problems.append("%s: bus %r is not in PINS" % (label, bus))
            elif not isinstance(pins[bus], dict) or _bus_kind(pins[bus]) is None:
                problems.append("%s: PINS[%r] is not a bus" % (label, bus))
        refs = cfg.get("pins", ())
        if not isinstance(refs, (tuple, list)):
            problems.append("%s: \"pins\" must be a tuple of PINS keys" % label)
            refs = ()
        for ref in refs:
            if ref not in pins:
                problems.append("%s: pins %r is not in PINS" % (label, ref))
    return problems, warnings


def check_file(path, roles=None, settings=None, modules=None):
    """(problems, warnings, counts) of one board file; BoardFileError when it cannot be read."""
    if roles is None or settings is None:
        roles, settings = common_tables()
    if modules is None:
        modules = driver_modules()
    try:
        with open(path, encoding="utf-8") as f:
            env = literals(f.read(), path)
    except (OSError, SyntaxError, UnicodeError) as e:
        raise BoardFileError("%s: cannot read: %s" % (_rel(path), e))
    missing = [name for name in ("PINS", "DRIVERS") if name not in env]
    if missing:
        return ["no literal %s dict" % " or ".join(missing)], [], (0, 0)
    problems, warnings = check(env["PINS"], env["DRIVERS"], roles, settings, modules)
    npins = sum(1 for _, n, _ in _walk_pins(env["PINS"], settings) if n is not None) \
        if isinstance(env["PINS"], dict) else 0
    nparts = sum(1 for v in env["DRIVERS"].values() if v) if isinstance(env["DRIVERS"], dict) else 0
    return problems, warnings, (npins, nparts)


def default_boards():
    return sorted(p for p in glob.glob(os.path.join(ROOT, "boards", "*", "board.py"))
                  if os.path.basename(os.path.dirname(p)) != "sim")


def _resolve(arg):
    if os.path.isfile(arg):
        return arg
    path = os.path.join(ROOT, "boards", arg, "board.py")
    if os.path.isfile(path):
        return path
    raise BoardFileError("%s: no such board (boards/%s/board.py) or file" % (arg, arg))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("boards", nargs="*", help="board names (boards/<name>/board.py) or board files")
    a = ap.parse_args(argv)
    roles, settings = common_tables()
    modules = driver_modules()
    status = 0
    try:
        paths = [_resolve(b) for b in a.boards] if a.boards else default_boards()
    except BoardFileError as e:
        print("FAIL %s" % e)
        return 2
    for path in paths:
        try:
            problems, warnings, (npins, nparts) = check_file(path, roles, settings, modules)
        except BoardFileError as e:
            print("FAIL %s" % e)
            status = 2
            continue
        for w in warnings:
            print("warning: %s: %s" % (_rel(path), w))
        if problems:
            for p in problems:
                print("FAIL %s: %s" % (_rel(path), p))
            status = max(status, 1)
        else:
            print("ok   %s: %d pins, %d parts" % (_rel(path), npins, nparts))
    return status


if __name__ == "__main__":
    sys.exit(main())
