# Text for the displays' built-in 8x8 font (framebuf: ASCII only): Latin-1 letters folded to their
# ASCII base, anything else beyond ASCII shown as '?', one cell per character. Arabic goes through
# wasl.ui.arabic and a glyph font instead (the displays' blit_glyph hook).
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_LATIN1 = const(b"AAAAAAACEEEEIIIIDNOOOOOxOUUUUYPsaaaaaaaceeeeiiiidnooooo/ouuuuypy")   # U+00C0..U+00FF


def fold(s):
    if len(s.encode()) == len(s):
        return s
    out = []
    for ch in s:
        o = ord(ch)
        out.append(ch if o < 0x80 else chr(_LATIN1[o - 0xC0]) if 0xC0 <= o <= 0xFF else "?")
    return "".join(out)
