"""The TMS simulator (docs/tms.md) and its harness: TmsSim runs it as a child process, like
tools.simlink.AcqSim runs the acquirer simulator."""
import json
import os
import signal
import subprocess
import sys
import threading

from . import store

ROOT = store.ROOT


class TmsSim:
    def __init__(self, state_dir, start_timeout=30):
        self.state = str(state_dir)
        self.start_timeout = start_timeout
        self.proc = None
        self.info = None

    def start(self):
        os.makedirs(self.state, exist_ok=True)
        self._stderr = open(os.path.join(self.state, "tmssim.log"), "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.tmssim", "--state", self.state, "--port", "0"],
                                     cwd=ROOT, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL)
        box = {}
        t = threading.Thread(target=lambda: box.update(line=self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(self.start_timeout)
        if not box.get("line"):
            self.stop()
            raise AssertionError("TMS simulator did not start (see %s/tmssim.log)" % self.state)
        self.info = json.loads(box["line"])
        return self

    def faults(self, **f):
        """Set the faults (server.py's docstring); none: faults()."""
        with open(os.path.join(self.state, "faults.json.tmp"), "w") as fh:
            json.dump(f, fh)
        os.replace(os.path.join(self.state, "faults.json.tmp"), os.path.join(self.state, "faults.json"))

    def params_block(self, interval_min=1440, timeout_s=10):
        return store.terminal_params(self.info, interval_min, timeout_s)

    def install_key(self, data_dir):
        return store.install_key(self.state, data_dir)

    def publish_params(self, doc, emv=None, raw=None):
        return store.publish_params(self.state, doc, emv, raw)

    def publish_software(self, src, version):
        return store.publish_software(self.state, src, version)

    def reports(self):
        try:
            with open(os.path.join(self.state, "reports.jsonl")) as f:
                return [json.loads(x)["report"] for x in f if x.strip()]
        except OSError:
            return []

    def requests(self):
        try:
            with open(os.path.join(self.state, "requests.jsonl")) as f:
                return [json.loads(x) for x in f if x.strip()]
        except OSError:
            return []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
