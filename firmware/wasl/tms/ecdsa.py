# ECDSA signature verification on NIST P-256 with SHA-256 (FIPS 186-4, SEC 1 4.1.4): the parameter
# documents and the software bundles are signed by the terminal management system; the terminal holds
# only the public key (docs/tms.md). Pure integer arithmetic (MicroPython's long integers), Jacobian
# coordinates, one inversion per verification. Public data only: no secret flows through this code, so
# it need not run in constant time.
try:
    from micropython import const
except ImportError:      # CPython (tests)
    def const(x):
        return x

_P = const(0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF)
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
_B = const(0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)
_GX = const(0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296)
_GY = const(0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def _double(pt):
    x, y, z = pt
    if not y:
        return (0, 1, 0)
    p = _P
    # a = -3: M = 3 (X - Z^2)(X + Z^2)
    zz = z * z % p
    m = 3 * (x - zz) * (x + zz) % p
    yy = y * y % p
    s = 4 * x * yy % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    z3 = 2 * y * z % p
    return (x3, y3, z3)


def _add(p1, p2):
    if not p1[2]:
        return p2
    if not p2[2]:
        return p1
    p = _P
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1z1 = z1 * z1 % p
    z2z2 = z2 * z2 % p
    u1 = x1 * z2z2 % p
    u2 = x2 * z1z1 % p
    s1 = y1 * z2 * z2z2 % p
    s2 = y2 * z1 * z1z1 % p
    h = (u2 - u1) % p
    r = (s2 - s1) % p
    if not h:
        return _double(p1) if not r else (0, 1, 0)
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    y3 = (r * (v - x3) - s1 * hhh) % p
    z3 = h * z1 * z2 % p
    return (x3, y3, z3)


def _on_curve(x, y):
    p = _P
    return 0 <= x < p and 0 <= y < p and (y * y - (x * x * x - 3 * x + _B)) % p == 0


def verify(public_key, digest, signature):
    """True when `signature` (64 bytes: r || s, big-endian) is a valid ECDSA signature of the 32-byte
    SHA-256 `digest` under `public_key` (64 bytes: X || Y, or 65 with a leading 0x04)."""
    if len(public_key) == 65 and public_key[0] == 4:
        public_key = public_key[1:]
    if len(public_key) != 64 or len(signature) != 64 or len(digest) != 32:
        return False
    qx = int.from_bytes(public_key[:32], "big")
    qy = int.from_bytes(public_key[32:], "big")
    if not _on_curve(qx, qy):
        return False
    n = _N
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < n and 0 < s < n):
        return False
    e = int.from_bytes(digest, "big") % n
    w = pow(s, n - 2, n)
    u1 = e * w % n
    u2 = r * w % n
    # Shamir's trick: u1 G + u2 Q in one pass over the bits
    g = (_GX, _GY, 1)
    q = (qx, qy, 1)
    gq = _add(g, q)
    acc = (0, 1, 0)
    for i in range(255, -1, -1):
        acc = _double(acc)
        b1 = (u1 >> i) & 1
        b2 = (u2 >> i) & 1
        if b1 and b2:
            acc = _add(acc, gq)
        elif b1:
            acc = _add(acc, g)
        elif b2:
            acc = _add(acc, q)
    x, _, z = acc
    if not z:
        return False
    p = _P
    zi = pow(z, p - 2, p)
    x = x * zi * zi % p
    return x % n == r
