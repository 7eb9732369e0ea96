# Wasl — run `make sim` to use the terminal on the desktop, `make test` to run every test.
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
UPY     := $(VENV)/bin/micropython
STAMP   := $(VENV)/.installed

.PHONY: venv test sim scenario mpy acqsim clean

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	touch $(STAMP)

test: venv
	$(PY) -m pytest -q host_tests

sim: venv
	$(PY) -m tools.simterm

scenario: venv
	$(PY) -m tools.scenario $(S) $(if $(HEAP),--heap $(HEAP))

acqsim: venv
	$(PY) -m tools.acqsim --state var/acqsim --port 5443

clean:
	rm -rf var build
