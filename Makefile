# Wasl — `make sim` runs the terminal on the desktop, `make test` runs every test.
# Both create .venv from the pinned requirements.txt first; nothing else needs installing.
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
BOARD   ?= sim

.PHONY: venv test sim scenario mpy romfs bench acqsim clean

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

# Every test: firmware units on CPython and on the MicroPython unix port, codec vs pyiso8583,
# xtensawin build, acquirer simulator, scenarios (one in a 64 KB heap), the desktop front end.
test: venv
	$(PY) -m pytest -q host_tests

# The terminal in this console, against the local acquirer simulator (docs/simterm.md).
sim: venv
	$(PY) -m tools.simterm $(if $(SIM_LANG),--lang $(SIM_LANG)) $(if $(HEAP),--heap $(HEAP)) $(if $(CODE),--code $(CODE))

# One headless scenario: make scenario S=host_tests/scenarios/sale_approved.json [HEAP=64K] [CODE=py|mpy|romfs]
scenario: venv
	@test -n "$(S)" || { echo "usage: make scenario S=host_tests/scenarios/<name>.json [HEAP=64K]"; exit 2; }
	$(PY) -m tools.scenario $(S) $(if $(HEAP),--heap $(HEAP)) $(if $(CODE),--code $(CODE))

# Firmware + board compiled to .mpy for the ESP32 (xtensawin; the unix port loads them too).
mpy: venv
	$(PY) -m tools.mpybuild --board $(BOARD) --out build/$(BOARD)

# The compiled tree as a ROMFS image (executed in place from flash on the device).
romfs: mpy
	$(VENV)/bin/mpremote romfs -o build/$(BOARD).romfs build build/$(BOARD)

# Figures: heap, boot time, codec speed, receipt size -> docs/benchmarks.md.
bench: venv
	$(PY) -m tools.bench --out docs/benchmarks.md

# The acquirer simulator alone, on port 5443 (tools/acqsim/README.md).
acqsim: venv
	$(PY) -m tools.acqsim --state var/acqsim --port 5443

clean:
	rm -rf var build
