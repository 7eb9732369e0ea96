# Wasl — `make sim` runs the terminal on the desktop, `make test` runs every test.
# Both create .venv from the pinned requirements.txt first; nothing else needs installing.
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
BOARD   ?= sim

.PHONY: venv test sim scenario mpy romfs boardcheck deploy flash package bench heapmap soak fuzz diag bridge acqsim tms clean

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

# Firmware + board compiled to .mpy for the ESP32 (xtensawin; the unix port loads them too), with the
# shared board modules the board file imports (boards/common/).
mpy: venv
	$(PY) -m tools.mpybuild --board $(BOARD) --out build/$(BOARD)
	$(PY) -m tools.deploy shared --board $(BOARD) --out build/$(BOARD)

# The compiled tree as a ROMFS image (executed in place from flash on the device).
romfs: mpy
	$(VENV)/bin/mpremote romfs -o build/$(BOARD).romfs build build/$(BOARD)

# The device boards' pin maps and driver choices, checked without running them (docs/deploy.md).
boardcheck: venv
	$(PY) -m tools.boardcheck $(BOARDS)

# On a device (docs/deploy.md). BOARD defaults to esp32_generic here; CODE=mpy (default), romfs (a
# MicroPython with a ROMFS partition) or board (wasl already frozen in the firmware or installed by mip).
#   make deploy PORT=/dev/ttyUSB0 [BOARD=esp32_generic] [CODE=mpy|romfs|board] [PARAMS=dir] [KEYS=block.tr31]
#   make flash  PORT=/dev/ttyUSB0 FIRMWARE=micropython-esp32.bin [same options]    (esptool, then deploy)
DEPLOY_BOARD = $(if $(filter command line environment override,$(origin BOARD)),$(BOARD),esp32_generic)
DEPLOY_OPTS = --board $(DEPLOY_BOARD) $(if $(CODE),--code $(CODE)) $(if $(PARAMS),--params $(PARAMS)) \
	$(if $(KEYS),--key-block $(KEYS)) $(if $(DRY_RUN),--dry-run)

deploy: venv
	@test -n "$(PORT)" || { echo "usage: make deploy PORT=/dev/ttyUSB0 [BOARD=esp32_generic] [CODE=mpy|romfs|board] [PARAMS=dir] [KEYS=block.tr31]"; exit 2; }
	$(PY) -m tools.deploy deploy --port $(PORT) $(DEPLOY_OPTS)

flash: venv
	@test -n "$(PORT)" -a -n "$(FIRMWARE)" || { echo "usage: make flash PORT=/dev/ttyUSB0 FIRMWARE=micropython-esp32.bin [BOARD=...] [CODE=...] [PARAMS=dir] [KEYS=block.tr31]"; exit 2; }
	$(PY) -m tools.deploy flash --port $(PORT) --firmware $(FIRMWARE) $(DEPLOY_OPTS)

# package.json (mip) from the files under firmware/wasl.
package: venv
	$(PY) -m tools.mkpackage

# Figures: heap, boot time, codec speed, a sale's CPU by stage, receipt size, a 200-sale soak -> docs/benchmarks.md.
bench: venv
	$(PY) -m tools.bench --out docs/benchmarks.md

# Where the heap goes at a scenario's states (docs/heap.md): make heapmap [S=scenario.json] [STATE=copy_prompt]
heapmap: venv
	$(PY) -m tools.heapmap $(S) $(if $(STATE),--state $(STATE))

# The soak (docs/soak.md): SALES sales in one firmware process from ROMFS in a 104 KB heap; the idle heap's
# slope, the journal's bound, descriptors and sockets checked. 10,000 sales: about 2 h 40 min on 2 cores.
soak: venv
	$(PY) -m tools.soak --sales $(or $(SALES),10000) --settle-every $(or $(SETTLE),100) \
		--heap $(or $(HEAP),104K) --json var/soak.json

# The long fuzzing run (docs/fuzzing.md): 2000 examples per fuzzer (WASL_FUZZ_LONG=20000 overnight).
fuzz: venv
	WASL_FUZZ_LONG=$(or $(WASL_FUZZ_LONG),1) $(PY) -m pytest -q host_tests/test_fuzz_iso8583.py \
		host_tests/test_fuzz_tlv.py host_tests/test_fuzz_track2.py host_tests/test_fuzz_params.py \
		host_tests/test_fuzz_modem.py host_tests/test_fuzz_keypad.py host_tests/test_fw_units.py -k fuzz

# Technician diagnostics over USB (docs/diagnostics.md):
#   make diag PORT=/dev/ttyUSB0 [PARTS=storage,keys,echo] [JSON=report.json] [KBPK=kbpk.hex]
diag: venv
	@test -n "$(PORT)" || { echo "usage: make diag PORT=/dev/ttyUSB0 [PARTS=...] [JSON=report.json] [KBPK=kbpk.hex]"; exit 2; }
	$(PY) -m tools.diag --port $(PORT) $(if $(PARTS),--parts $(PARTS)) $(if $(JSON),--json $(JSON)) $(if $(KBPK),--kbpk-file $(KBPK))

# The desktop terminal as a serial device for stock mpremote and `make diag PORT=var/sim/tty`.
bridge: venv
	$(PY) -m tools.upybridge --sim --data var/sim/diag/term --link var/sim/tty

# The acquirer simulator alone, on port 5443 (tools/acqsim/README.md).
acqsim: venv
	$(PY) -m tools.acqsim --state var/acqsim --port 5443

# The TMS simulator alone, on port 8443 (docs/tms.md).
tms: venv
	$(PY) -m tools.tmssim --state var/tmssim --port 8443

clean:
	rm -rf var build
