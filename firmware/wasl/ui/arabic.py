# Arabic for screens and receipts, for a display or printer that draws glyphs left to right.
#
#   shape(text)          logical-order Arabic -> contextual forms (Unicode Arabic Presentation Forms-B,
#                        U+FE70..U+FEFF; lam-alef ligatures U+FEF5..U+FEFC), still in logical order
#   visual(text, width)  one line in display order: shaped, reordered by a one-line Unicode bidi
#                        (UAX #9 without explicit embeddings), mirrored brackets, padded to `width`
#   is_rtl(text)         the line's first strong character is right-to-left
#
# The tables are bytes constants (they stay in flash when frozen or in a ROMFS image); a call works on
# one list of code points (small ints: no object per character) and builds one str. docs/arabic.md
# says what is shaped, where the bidi is simplified and how screens and receipts use it.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

# Joining types (Unicode ArabicShaping.txt), stored as ASCII letters in the tables.
_JU = const(0x55)   # U  non-joining
_JR = const(0x52)   # R  right-joining: joins the letter before it only
_JD = const(0x44)   # D  dual-joining
_JC = const(0x43)   # C  join-causing: tatweel, ZWJ
_JT = const(0x54)   # T  transparent: harakat and other combining marks

# U+0621..U+064A: joining type, low byte of the isolated form (U+FExx; final = +1, initial = +2,
# medial = +3 for dual-joining letters, Presentation Forms-B order); 0 = no presentation form.
_LETTERS = (
    b"U\x80"   # 0621 hamza
    b"R\x81"   # 0622 alef with madda above
    b"R\x83"   # 0623 alef with hamza above
    b"R\x85"   # 0624 waw with hamza above
    b"R\x87"   # 0625 alef with hamza below
    b"D\x89"   # 0626 yeh with hamza above
    b"R\x8d"   # 0627 alef
    b"D\x8f"   # 0628 beh
    b"R\x93"   # 0629 teh marbuta
    b"D\x95"   # 062A teh
    b"D\x99"   # 062B theh
    b"D\x9d"   # 062C jeem
    b"D\xa1"   # 062D hah
    b"D\xa5"   # 062E khah
    b"R\xa9"   # 062F dal
    b"R\xab"   # 0630 thal
    b"R\xad"   # 0631 reh
    b"R\xaf"   # 0632 zain
    b"D\xb1"   # 0633 seen
    b"D\xb5"   # 0634 sheen
    b"D\xb9"   # 0635 sad
    b"D\xbd"   # 0636 dad
    b"D\xc1"   # 0637 tah
    b"D\xc5"   # 0638 zah
    b"D\xc9"   # 0639 ain
    b"D\xcd"   # 063A ghain
    b"U\x00"   # 063B..063F keheh / farsi yeh variants: dual-joining in Unicode but without
    b"U\x00"   #   presentation forms, so left unjoined here (a glyph that cannot join should not
    b"U\x00"   #   make its neighbours join it)
    b"U\x00"
    b"U\x00"
    b"C\x00"   # 0640 tatweel
    b"D\xd1"   # 0641 feh
    b"D\xd5"   # 0642 qaf
    b"D\xd9"   # 0643 kaf
    b"D\xdd"   # 0644 lam
    b"D\xe1"   # 0645 meem
    b"D\xe5"   # 0646 noon
    b"D\xe9"   # 0647 heh
    b"R\xed"   # 0648 waw
    b"D\xef"   # 0649 alef maksura: isolated/final here, initial/medial U+FBE8/U+FBE9
    b"D\xf1"   # 064A yeh
)

# Letters beyond U+064A with forms in Presentation Forms-A (U+FBxx): low byte of the code point
# (U+06xx), joining type, low byte of the isolated form (same +1/+2/+3 order).
_EXTRA = (
    b"\x71R\x50"   # 0671 alef wasla
    b"\x7eD\x56"   # 067E peh
    b"\x86D\x7a"   # 0686 tcheh
    b"\x98R\x8a"   # 0698 jeh
    b"\xa4D\x6a"   # 06A4 veh (Maghrebi names)
    b"\xa9D\x8e"   # 06A9 keheh
    b"\xafD\x92"   # 06AF gaf
    b"\xccD\xfc"   # 06CC farsi yeh
)

# Bidi classes (UAX #9), as ASCII letters.
_L = const(0x4C)     # L   left-to-right
_R = const(0x52)     # R   right-to-left (Hebrew)
_AL = const(0x41)    # AL  Arabic letter
_EN = const(0x45)    # EN  European digit
_ES = const(0x2B)    # ES  European separator (+ -)
_ET = const(0x25)    # ET  European terminator (# $ % currency)
_AN = const(0x4E)    # AN  Arabic digit and number sign
_CS = const(0x2C)    # CS  common separator (, . / : no-break space)
_NSM = const(0x4D)   # NSM combining mark
_ON = const(0x4F)    # ON  other neutral
_WS = const(0x20)    # WS  white space (line and paragraph separators too: one line here)
_S = const(0x53)     # S   segment separator (tab)
_BN = const(0x42)    # BN  boundary neutral (controls, format characters)

# Bidi class ranges: (start code point, big-endian 16 bits) + class; a range runs to the next start.
# Exact (host_tests compare it with CPython's unicodedata) for U+0000..U+02B8, U+0300..U+036F,
# U+0600..U+06FF, U+2000..U+20CF, U+FB50..U+FDFF and U+FE70..U+FEFF; coarse elsewhere (docs/arabic.md).
_BIDI = (
    b"\x00\x00B" b"\x00\x09S" b"\x00\x0a " b"\x00\x0bS" b"\x00\x0c " b"\x00\x0eB" b"\x00\x1c "
    b"\x00\x1fS" b"\x00\x20 " b"\x00\x21O" b"\x00\x23%" b"\x00\x26O" b"\x00\x2b+" b"\x00\x2c,"
    b"\x00\x2d+" b"\x00\x2e," b"\x00\x30E" b"\x00\x3a," b"\x00\x3bO" b"\x00\x41L" b"\x00\x5bO"
    b"\x00\x61L" b"\x00\x7bO" b"\x00\x7fB" b"\x00\x85 " b"\x00\x86B" b"\x00\xa0," b"\x00\xa1O"
    b"\x00\xa2%" b"\x00\xa6O" b"\x00\xaaL" b"\x00\xabO" b"\x00\xadB" b"\x00\xaeO" b"\x00\xb0%"
    b"\x00\xb2E" b"\x00\xb4O" b"\x00\xb5L" b"\x00\xb6O" b"\x00\xb9E" b"\x00\xbaL" b"\x00\xbbO"
    b"\x00\xc0L" b"\x00\xd7O" b"\x00\xd8L" b"\x00\xf7O" b"\x00\xf8L"
    b"\x03\x00M" b"\x03\x70L"                                   # combining diacritics; Greek...
    b"\x05\x90R"                                                # Hebrew
    b"\x06\x00N" b"\x06\x06O" b"\x06\x08A" b"\x06\x09%" b"\x06\x0bA" b"\x06\x0c," b"\x06\x0dA"
    b"\x06\x0eO" b"\x06\x10M" b"\x06\x1bA" b"\x06\x4bM" b"\x06\x60N" b"\x06\x6a%" b"\x06\x6bN"
    b"\x06\x6dA" b"\x06\x70M" b"\x06\x71A" b"\x06\xd6M" b"\x06\xddN" b"\x06\xdeO" b"\x06\xdfM"
    b"\x06\xe5A" b"\x06\xe7M" b"\x06\xe9O" b"\x06\xeaM" b"\x06\xeeA" b"\x06\xf0E" b"\x06\xfaA"
    b"\x09\x00L"                                                # Indic... CJK
    b"\x20\x00 " b"\x20\x0bB" b"\x20\x0eL" b"\x20\x0fR" b"\x20\x10O" b"\x20\x28 " b"\x20\x2aB"
    b"\x20\x2f," b"\x20\x30%" b"\x20\x35O" b"\x20\x44," b"\x20\x45O" b"\x20\x5f " b"\x20\x60B"
    b"\x20\x70E" b"\x20\x71L" b"\x20\x74E" b"\x20\x7a+" b"\x20\x7cO" b"\x20\x7fL" b"\x20\x80E"
    b"\x20\x8a+" b"\x20\x8cO" b"\x20\x90L" b"\x20\xa0%" b"\x20\xd0M" b"\x21\x00O" b"\x22\x12+"
    b"\x22\x13%" b"\x22\x14O" b"\x2c\x00L"
    b"\xfb\x1dR" b"\xfb\x50A" b"\xfd\x3eO" b"\xfd\x50A" b"\xfd\xcfO" b"\xfd\xd0A" b"\xfd\xfdO"
    b"\xfe\x00M" b"\xfe\x10O" b"\xfe\x20M" b"\xfe\x30O" b"\xfe\x70A" b"\xfe\xffB" b"\xff\x00L"
)

# Mirrored pairs (UAX #9 rule L4): even index opens, the next one closes; the first 6 are the bracket
# pairs of rule N0.
_MIRROR = b"()[]{}<>\xab\xbb"
_N_BRACKETS = const(6)


def _bidi(c):
    """Bidi class of code point c (binary search in _BIDI)."""
    if c > 0xFFFF:
        return _ON
    t = _BIDI
    lo = 0
    hi = len(t) // 3
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        k = mid * 3
        if (t[k] << 8 | t[k + 1]) <= c:
            lo = mid
        else:
            hi = mid
    return t[lo * 3 + 2]


def _join(c):
    """Joining type << 16 | isolated presentation form (0: none) of code point c."""
    if c < 0x300:
        return _JU << 16
    if 0x621 <= c <= 0x64A:
        k = (c - 0x621) << 1
        f = _LETTERS[k + 1]
        return _LETTERS[k] << 16 | (0xFE00 | f if f else 0)
    if 0x671 <= c <= 0x6CC:
        t = _EXTRA
        k = 0
        while k < len(t):
            if t[k] == c - 0x600:
                return t[k + 1] << 16 | 0xFB00 | t[k + 2]
            k += 3
    if c == 0x200D:
        return _JC << 16
    if _bidi(c) == _NSM:
        return _JT << 16
    return _JU << 16


def _decode(text):
    """[code points] (small ints) of a str, and how many: one list, no object per character."""
    b = text.encode()
    m = len(b)
    cp = [0] * m
    n = i = 0
    while i < m:
        c = b[i]
        if c < 0x80:
            i += 1
        elif c < 0xE0:
            c = ((c & 0x1F) << 6) | (b[i + 1] & 0x3F)
            i += 2
        elif c < 0xF0:
            c = ((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F)
            i += 3
        else:
            c = ((c & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F)
            i += 4
        cp[n] = c
        n += 1
    return cp, n


def _encode(cp, a, b, lpad, rpad):
    """str of cp[a:b] with lpad spaces before and rpad after: one bytearray, one str."""
    size = lpad + rpad
    k = a
    while k < b:
        c = cp[k]
        size += 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4
        k += 1
    out = bytearray(size)
    o = 0
    while o < lpad:
        out[o] = 0x20
        o += 1
    k = a
    while k < b:
        c = cp[k]
        if c < 0x80:
            out[o] = c
            o += 1
        elif c < 0x800:
            out[o] = 0xC0 | c >> 6
            out[o + 1] = 0x80 | c & 0x3F
            o += 2
        elif c < 0x10000:
            out[o] = 0xE0 | c >> 12
            out[o + 1] = 0x80 | (c >> 6) & 0x3F
            out[o + 2] = 0x80 | c & 0x3F
            o += 3
        else:
            out[o] = 0xF0 | c >> 18
            out[o + 1] = 0x80 | (c >> 12) & 0x3F
            out[o + 2] = 0x80 | (c >> 6) & 0x3F
            out[o + 3] = 0x80 | c & 0x3F
            o += 4
        k += 1
    while o < size:
        out[o] = 0x20
        o += 1
    return str(out, "utf-8")


def _shape(cp, n, marks):
    """Shape cp[:n] in place (logical order); returns the new length (ligatures and dropped marks,
    ZWJ and ZWNJ make it shorter)."""
    w = i = 0
    prev = _JU          # joining type of the last non-transparent character
    while i < n:
        c = cp[i]
        j = _join(c)
        t = j >> 16
        if t == _JT:
            if marks:
                cp[w] = c
                w += 1
            i += 1
            continue
        k = i + 1       # the next non-transparent character, and its joining type
        nt = _JU
        while k < n:
            nt = _join(cp[k]) >> 16
            if nt != _JT:
                break
            k += 1
        else:
            nt = _JU
        jp = prev == _JD or prev == _JC     # the character before joins this one
        if c == 0x644 and k < n:            # lam + alef (marks between them go after the ligature)
            a = cp[k]
            lig = 0xFEFB if a == 0x627 else 0xFEF7 if a == 0x623 else 0xFEF9 if a == 0x625 \
                else 0xFEF5 if a == 0x622 else 0
            if lig:
                cp[w] = lig + 1 if jp else lig
                w += 1
                m = i + 1
                while m < k:
                    if marks:
                        cp[w] = cp[m]
                        w += 1
                    m += 1
                i = k + 1
                prev = _JR
                continue
        f = j & 0xFFFF
        if f:
            if t == _JU:
                c = f
            elif t == _JD and (nt == _JD or nt == _JR or nt == _JC):
                if f == 0xFEEF:             # alef maksura: no initial/medial form in FExx
                    c = 0xFBE9 if jp else 0xFBE8
                else:
                    c = f + 3 if jp else f + 2
            else:
                c = f + 1 if jp else f
        prev = t
        i += 1
        if c == 0x200C or c == 0x200D:      # ZWNJ, ZWJ: they did their work
            continue
        cp[w] = c
        w += 1
    return w


def _digit(t):
    return t == _EN or t == _AN


def _strong(t):
    """The direction a resolved type counts as for neutrals (rules N0, N1): L, R or 0."""
    if t == _L:
        return _L
    if t == _R or t == _EN or t == _AN:
        return _R
    return 0


def _rev(cp, a, b):
    b -= 1
    while a < b:
        cp[a], cp[b] = cp[b], cp[a]
        a += 1
        b -= 1


def _brackets(cp, ty, n, e, sos):
    """Rule N0: paired brackets take the direction of what they enclose (BD16 pairing)."""
    stack = pairs = None
    i = 0
    while i < n:
        c = cp[i]
        k = _MIRROR.find(c) if c < 0x100 and ty[i] == _ON else -1
        if 0 <= k < _N_BRACKETS:
            if not k & 1:
                if stack is None:
                    stack = []
                    pairs = []
                if len(stack) == 63:
                    break
                stack.append(i)
            elif stack:
                s = len(stack) - 1
                while s >= 0 and cp[stack[s]] != _MIRROR[k - 1]:
                    s -= 1
                if s >= 0:
                    pairs.append(stack[s] << 16 | i)
                    del stack[s:]
        i += 1
    if not pairs:
        return
    pairs.sort()
    for p in pairs:
        o = p >> 16
        c = p & 0xFFFF
        d = 0
        m = o + 1
        while m < c:
            s = _strong(ty[m])
            if s == e:
                d = e
                break
            if s:
                d = s
            m += 1
        if not d:
            continue
        if d != e:
            ctx = sos
            m = o - 1
            while m >= 0:
                s = _strong(ty[m])
                if s:
                    ctx = s
                    break
                m -= 1
            if ctx != d:
                d = e
        ty[o] = ty[c] = d


def _levels(cp, n, rtl):
    """Embedding levels (0, 1, 2) of cp[:n] as one line (UAX #9 W1-W7, N0-N2, I1-I2, L1)."""
    ty = bytearray(n)
    i = 0
    while i < n:
        ty[i] = _bidi(cp[i])
        i += 1
    # Not in UAX #9: '*' among digits is a masked digit (476173******0010), and one space between
    # digits groups them (1 500,00): both stay inside the number.
    i = 0
    while i < n:
        if cp[i] == 0x2A:
            k = i
            while k < n and cp[k] == 0x2A:
                k += 1
            t = ty[i - 1] if i > 0 and _digit(ty[i - 1]) else ty[k] if k < n and _digit(ty[k]) else _ON
            while i < k:
                ty[i] = t
                i += 1
        else:
            i += 1
    i = 1
    while i < n - 1:
        if cp[i] == 0x20 and _digit(ty[i - 1]) and _digit(ty[i + 1]):
            ty[i] = _CS
        i += 1
    e = _R if rtl else _L
    # W1 (marks take the type before them), W2 (European digits after Arabic letters are Arabic
    # numbers), W3 (AL -> R)
    last = p = e
    i = 0
    while i < n:
        t = ty[i]
        if t == _NSM:
            t = p
        p = t
        if t == _EN:
            if last == _AL:
                t = _AN
        elif t == _L or t == _R or t == _AL:
            last = t
            if t == _AL:
                t = _R
        ty[i] = t
        i += 1
    # W4: one separator between two numbers of the same kind joins them
    i = 1
    while i < n - 1:
        t = ty[i]
        if t == _ES or t == _CS:
            a = ty[i - 1]
            if a == ty[i + 1] and (a == _EN or (a == _AN and t == _CS)):
                ty[i] = a
        i += 1
    # W5: terminators next to European digits; W6: other separators and terminators are neutral
    i = 0
    while i < n:
        if ty[i] == _ET:
            k = i
            while k < n and ty[k] == _ET:
                k += 1
            t = _EN if (i > 0 and ty[i - 1] == _EN) or (k < n and ty[k] == _EN) else _ON
            while i < k:
                ty[i] = t
                i += 1
        else:
            if ty[i] == _ES or ty[i] == _CS:
                ty[i] = _ON
            i += 1
    # W7: European digits after L text are L
    last = e
    i = 0
    while i < n:
        t = ty[i]
        if t == _L or t == _R:
            last = t
        elif t == _EN and last == _L:
            ty[i] = _L
        i += 1
    _brackets(cp, ty, n, e, e)
    # N1, N2: neutrals between two strong sides of one direction take it, else the line's direction
    i = 0
    while i < n:
        if _strong(ty[i]):
            i += 1
            continue
        k = i
        while k < n and not _strong(ty[k]):
            k += 1
        a = _strong(ty[i - 1]) if i > 0 else e
        b = _strong(ty[k]) if k < n else e
        d = a if a == b else e
        while i < k:
            ty[i] = d
            i += 1
    # I1, I2: types -> levels, in place
    base = 1 if rtl else 0
    i = 0
    while i < n:
        t = ty[i]
        if rtl:
            ty[i] = 1 if t == _R else 2
        else:
            ty[i] = 0 if t == _L else 1 if t == _R else 2
        i += 1
    # L1: tabs, and spaces before a tab or at the end of the line, go back to the line's level
    i = n - 1
    end = True
    while i >= 0:
        t = _bidi(cp[i])
        if t == _S:
            ty[i] = base
            end = True
        elif end and (t == _WS or t == _BN):
            ty[i] = base
        else:
            end = False
        i -= 1
    return ty


def _invisible(c):
    """Marks that only steer the bidi and joining: nothing to draw."""
    return 0x200B <= c <= 0x200F or c == 0x61C or c == 0xFEFF or 0x202A <= c <= 0x202E \
        or 0x2066 <= c <= 0x2069


def shape(text, marks=True):
    """Arabic letters of `text` in their contextual forms, logical order kept. marks=False drops the
    harakat (for glyph sets that cannot stack them)."""
    cp, n = _decode(text)
    return _encode(cp, 0, _shape(cp, n, marks), 0, 0)


def _first_rtl(cp, n):
    i = 0
    while i < n:
        t = _bidi(cp[i])
        if t == _AL or t == _R:
            return True
        if t == _L:
            return False
        i += 1
    return False


def is_rtl(text):
    """True when the first strong character of `text` is Arabic (or Hebrew)."""
    cp, n = _decode(text)
    return _first_rtl(cp, n)


def visual(text, width=None, rtl=None, marks=False):
    """One line in display order (left to right), shaped. rtl: the line's direction (None: from its
    first strong character). With `width`, an RTL line is right-aligned and an LTR line left-aligned in
    `width` columns; a longer line loses its logical end (the left of an RTL line). marks=True keeps
    the harakat, each after its letter."""
    cp, n = _decode(text)
    if rtl is None:
        rtl = _first_rtl(cp, n)
    n = _shape(cp, n, marks)
    lv = _levels(cp, n, rtl)
    i = 0
    while i < n:                                # L4: mirrored glyphs in right-to-left runs
        if lv[i] & 1 and cp[i] < 0x100:
            k = _MIRROR.find(cp[i])
            if k >= 0:
                cp[i] = _MIRROR[k ^ 1]
        i += 1
    if marks:                                   # L3: a mark stays after its letter
        i = 0
        while i < n:
            k = i + 1
            while k < n and lv[i] & 1 and _bidi(cp[k]) == _NSM:
                k += 1
            if k > i + 1:
                _rev(cp, i, k)
            i = k
    lev = 2                                     # L2: reverse runs, highest level first
    while lev > 0:
        i = 0
        while i < n:
            if lv[i] >= lev:
                k = i
                while k < n and lv[k] >= lev:
                    k += 1
                _rev(cp, i, k)
                i = k
            else:
                i += 1
        lev -= 1
    w = i = 0
    cols = 0
    while i < n:
        c = cp[i]
        if not _invisible(c):
            cp[w] = c
            w += 1
            if not marks or _bidi(c) != _NSM:
                cols += 1
        i += 1
    a, b, pad = 0, w, 0
    if width is not None:
        pad = width - cols
        while pad < 0:                          # too long: drop columns at the logical end
            if rtl:
                a += 1
                while a < b and marks and _bidi(cp[a]) == _NSM:
                    a += 1
            else:
                while b > a + 1 and marks and _bidi(cp[b - 1]) == _NSM:
                    b -= 1
                b -= 1
            pad += 1
    return _encode(cp, a, b, pad if rtl else 0, 0 if rtl else pad)
