# Response codes (field 39). The words for each code are in the language tables under "rc_<code>"
# (docs/host-interface.md, section 7); a code without words is shown as "rc_refused".
APPROVED = "00"


def text_key(rc, tr):
    key = "rc_" + rc
    return key if tr.get(key) is not None else "rc_refused"
