# Runs firmware unit tests on the MicroPython unix port:
#
#   MICROPYPATH=".frozen:<repo>/firmware:<repo>/host_tests/fw" micropython run_upy.py test_track2 ...
#
# Imports each module named on the command line, calls every test_* function in it (source order)
# and prints one JSON line per test: {"module", "test", "ok", "error"}, then one summary line
# {"summary": {"passed", "failed", "modules"}}. Exit status 1 when any test failed. Each module starts
# from the same sys.modules (what it imported is dropped after its tests).
# host_tests/test_fw_units.py runs this and reads the lines back; a test without a line (the
# interpreter crashed) fails there.
import gc
import io
import json
import sys


def _trace(e):
    s = io.StringIO()
    sys.print_exception(e, s)
    return "%r\n%s" % (e, s.getvalue())


def _emit(module, test, ok, error):
    print(json.dumps({"module": module, "test": test, "ok": ok, "error": error}))


def _test_names(mod):
    """Names of the module's test functions, in the order they appear in its source."""
    found = [n for n in dir(mod) if n.startswith("test_") and callable(getattr(mod, n))]
    names = []
    try:
        if not mod.__file__.endswith(".py"):
            raise OSError
        with open(mod.__file__) as f:
            for line in f:
                if line.startswith("def test_"):
                    n = line[4:].split("(", 1)[0].strip()
                    if n in found and n not in names:
                        names.append(n)
    except (AttributeError, OSError, UnicodeError):  # precompiled (.mpy): no source to read
        pass
    return names + sorted(n for n in found if n not in names)


def _unload(before):
    """Drop the modules imported since `before`, so the next module starts from the same heap."""
    for m in [m for m in sys.modules if m not in before]:
        del sys.modules[m]


def run_module(name):
    before = set(sys.modules)
    try:
        return _run_module(name)
    finally:
        _unload(before)


def _run_module(name):
    passed = failed = 0
    try:
        mod = __import__(name)
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        _emit(name, "<import>", False, _trace(e))
        return 0, 1
    for test in _test_names(mod):
        gc.collect()
        try:
            res = getattr(mod, test)()
            if type(res).__name__ == "generator":
                raise TypeError("test functions must be plain functions, not async / generators")
            _emit(name, test, True, "")
            passed += 1
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # SystemExit and the like are test failures too
            _emit(name, test, False, _trace(e))
            failed += 1
    return passed, failed


def main(names):
    passed = failed = 0
    for name in names:
        p, f = run_module(name)
        passed += p
        failed += f
    gc.collect()
    print(json.dumps({"summary": {"passed": passed, "failed": failed, "modules": len(names)}}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
