# host_tests/fw/ holds firmware unit tests that must also run on MicroPython: pytest does not collect
# them directly, test_fw_units.py runs them on both runtimes.
collect_ignore = ["fw"]
