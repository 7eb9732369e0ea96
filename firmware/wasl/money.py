# Amounts are integers in minor units (DZD: centimes, exponent 2). Never floats.


def format_amount(minor, exponent=2, sep=" ", point=","):
    """12345678 -> '123 456,78' (French style, the default in Algeria)."""
    neg = minor < 0
    s = "%d" % (-minor if neg else minor)
    if exponent:
        s = "0" * (exponent + 1 - len(s)) + s if len(s) <= exponent else s
        whole, frac = s[:-exponent], s[-exponent:]
    else:
        whole, frac = s, ""
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = sep.join(groups)
    if frac:
        out += point + frac
    return ("-" + out) if neg else out
