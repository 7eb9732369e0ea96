"""The firmware unit tests of host_tests/fw/, run on CPython and on the MicroPython unix port.

Each `def test_*():` found (with `ast`) in host_tests/fw/test_*.py becomes two items:
  [cpython]   the function called in this process, firmware/ and host_tests/fw on sys.path
  [upy]       host_tests/fw/run_upy.py, one micropython process per module (cached for the session)
A test that micropython printed no result line for (the interpreter crashed) fails.

(No small-heap variant: on the unix port the tests' own code and every qstr they intern live in the
heap, so the whole suite in one `-X heapsize=64K` process, or even test_iso8583 alone, runs out of
memory for reasons that say nothing about the firmware. tools/scenario.py --heap covers the firmware.)
"""
import ast
import importlib.util
import inspect
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FW_TESTS = os.path.join(ROOT, "host_tests", "fw")
FIRMWARE = os.path.join(ROOT, "firmware")
RUNNER = os.path.join(FW_TESTS, "run_upy.py")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
UPY_TIMEOUT_S = 120
CPY_SHIMS = os.path.join(ROOT, "host_tests", "cpython_shims")   # CPython stand-ins for built-ins (cryptolib)

for _p in (FW_TESTS, FIRMWARE, CPY_SHIMS):
    if _p not in sys.path:
        sys.path.insert(0, _p)


def _discover():
    """[(module, test function)] in file order, then source order."""
    cases = []
    for fn in sorted(os.listdir(FW_TESTS)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        path = os.path.join(FW_TESTS, fn)
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        seen = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_") \
                    and node.name not in seen:
                seen.add(node.name)
                cases.append((fn[:-3], node.name))
    return cases


CASES = _discover()
MODULES = sorted({m for m, _ in CASES})


# ---- CPython -------------------------------------------------------------------------------------

_CPY_MODULES = {}


def _cpython_module(name):
    if name not in _CPY_MODULES:
        spec = importlib.util.spec_from_file_location("wasl_fw_" + name, os.path.join(FW_TESTS, name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _CPY_MODULES[name] = mod
    return _CPY_MODULES[name]


def _run_cpython(module, test):
    res = getattr(_cpython_module(module), test)()
    if inspect.iscoroutine(res) or inspect.isgenerator(res):
        res.close()
        pytest.fail("test functions must be plain functions (use asyncio.run inside)")


# ---- MicroPython ---------------------------------------------------------------------------------

_UPY_RUNS = {}   # modules -> run dict: one micropython process per module per session


def _micropython(modules, tests_dir=FW_TESTS):
    key = (tests_dir, tuple(modules))
    if key in _UPY_RUNS:
        return _UPY_RUNS[key]
    if not os.path.exists(MICROPYTHON):
        pytest.fail("no MicroPython unix port at %s (make venv)" % MICROPYTHON)
    cmd = [MICROPYTHON, RUNNER] + list(modules)
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (FIRMWARE, ":".join(sorted({FW_TESTS, str(tests_dir)}))))
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=UPY_TIMEOUT_S)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timeout after %d s" % UPY_TIMEOUT_S
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    results, summary = {}, None
    for line in out.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        if "summary" in obj:
            summary = obj["summary"]
        elif "module" in obj and "test" in obj and "ok" in obj:
            results[(obj["module"], obj["test"])] = obj
    run = {"cmd": cmd, "rc": rc, "stdout": out, "stderr": err, "results": results, "summary": summary}
    _UPY_RUNS[key] = run
    return run


def _tail(text, n=2000):
    return text if len(text) <= n else "..." + text[-n:]


def _check_upy(run, module, test):
    imp = run["results"].get((module, "<import>"))
    if imp is not None:
        pytest.fail("micropython could not import %s:\n%s" % (module, imp["error"]), pytrace=False)
    res = run["results"].get((module, test))
    if res is None:
        pytest.fail("micropython printed no result for %s.%s (exit status %s, %s)\n--- stderr\n%s\n--- stdout\n%s"
                    % (module, test, run["rc"], "no summary line: it crashed" if run["summary"] is None
                       else "summary %s" % run["summary"], _tail(run["stderr"]), _tail(run["stdout"])),
                    pytrace=False)
    if not res["ok"]:
        pytest.fail("on MicroPython: %s" % res["error"], pytrace=False)


def _run_upy(module, test):
    _check_upy(_micropython([module]), module, test)


RUNTIMES = {"cpython": _run_cpython, "upy": _run_upy}


@pytest.mark.parametrize("module,test,runtime", [
    pytest.param(m, t, r, id="%s.%s-%s" % (m, t, r)) for m, t in CASES for r in RUNTIMES
])
def test_fw(module, test, runtime):
    RUNTIMES[runtime](module, test)


def test_discovery_found_the_suite():
    assert len(MODULES) >= 10, MODULES
    assert len(CASES) >= 100, len(CASES)


def test_runner_reports_failures_and_crashes(tmp_path):
    """run_upy.py itself: a failing test is ok=false with its traceback; every test gets one line."""
    (tmp_path / "test_probe.py").write_text(
        "def test_b():\n    assert 1 == 2, 'nope'\n\n"
        "def test_a():\n    pass\n\n"
        "def test_exit():\n    raise SystemExit(3)\n\n"
        "def helper():\n    raise RuntimeError\n")
    env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (FW_TESTS, tmp_path))
    proc = subprocess.run([MICROPYTHON, RUNNER, "test_probe", "no_such_module"], env=env, capture_output=True,
                          text=True, timeout=60)
    lines = [json.loads(ln) for ln in proc.stdout.splitlines()]
    assert [(d.get("test"), d.get("ok")) for d in lines[:-1]] == [
        ("test_b", False), ("test_a", True), ("test_exit", False), ("<import>", False)]
    assert "AssertionError" in lines[0]["error"] and "nope" in lines[0]["error"]
    assert "test_probe.py" in lines[0]["error"] and "line 2" in lines[0]["error"]
    assert "SystemExit" in lines[2]["error"]
    assert lines[-1] == {"summary": {"passed": 1, "failed": 3, "modules": 2}}
    assert proc.returncode == 1


def test_a_micropython_crash_fails_the_tests_it_did_not_report(tmp_path):
    (tmp_path / "test_crash.py").write_text(
        "def test_before():\n    pass\n\n"
        "def test_segfault():\n    import uctypes\n    uctypes.bytearray_at(8, 8)[0]\n\n"
        "def test_after():\n    pass\n")
    run = _micropython(["test_crash"], tmp_path)
    assert run["rc"] != 0 and run["summary"] is None
    _check_upy(run, "test_crash", "test_before")
    for test in ("test_segfault", "test_after"):
        with pytest.raises(pytest.fail.Exception, match="printed no result .* it crashed"):
            _check_upy(run, "test_crash", test)
