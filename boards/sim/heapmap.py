# What fills the heap at a UI state, for tools/heapmap.py: loaded only when WASL_HEAPMAP names states.
# The interned-name table and the heap summary are printed by the port itself (micropython.qstr_info,
# micropython.mem_info) on stdout, where the harness keeps lines that are not JSON events.
import gc
import sys

import micropython


def dump(state):
    gc.collect()
    print("heapmap-begin " + state)
    micropython.qstr_info(1)     # one line per interned name, then the pool totals
    micropython.mem_info()
    print("heapmap-end")
    sys.stdout.write('{"ev": "heapmap", "state": "%s", "alloc": %d, "free": %d, "modules": "%s"}\n'
                     % (state, gc.mem_alloc(), gc.mem_free(), " ".join(sorted(sys.modules))))
