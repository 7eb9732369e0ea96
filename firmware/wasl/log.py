# Minimal logger: one line per event on stderr (the sim keeps stdout for its control channel).
# Never pass a PAN, track data, PIN or key here: callers log masked values only.
import sys

level = 1   # the lowest level written: 0 debug, 1 info, 2 warnings, 3 errors


def _emit(lv, name, tag, msg, args):
    if lv < level:
        return
    if args:
        msg = msg % args
    sys.stderr.write("%s %s: %s\n" % (name, tag, msg))


def debug(tag, msg, *args):
    _emit(0, "DBG", tag, msg, args)


def info(tag, msg, *args):
    _emit(1, "INF", tag, msg, args)


def warn(tag, msg, *args):
    _emit(2, "WRN", tag, msg, args)


def error(tag, msg, *args):
    _emit(3, "ERR", tag, msg, args)


def exception(tag, msg, exc):
    """An unexpected exception with its traceback (developer aid; messages here carry no card data)."""
    _emit(3, "ERR", tag, msg, ())
    try:
        sys.print_exception(exc, sys.stderr)
    except AttributeError:  # CPython
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
