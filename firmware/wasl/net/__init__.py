# Network links: the GSM modem's AT-command driver (modem.py); the link manager comes next.
