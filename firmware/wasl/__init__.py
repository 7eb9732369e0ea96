# Wasl payment terminal firmware. Runs on the MicroPython esp32 and unix ports; pure logic also on CPython.
VERSION = "0.1.0"
