"""The TMS simulator (docs/tms.md) and its harness: TmsSim runs it as a child process, like
tools.simlink.AcqSim runs the acquirer simulator."""
import json
import os

from tools.simlink import ServerProcess

from . import store

ROOT = store.ROOT


class TmsSim(ServerProcess):
    module, log, what = "tools.tmssim", "tmssim.log", "TMS simulator"

    def __init__(self, state_dir, start_timeout=30):
        ServerProcess.__init__(self, state_dir, (), start_timeout)
        self.state = self.state_dir

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
