#!/usr/bin/env python3
"""Legacy password hash vectors from Python's standard library (hashlib).

Not meant to be run alone: gen_vectors.mjs runs it and merges its output
(a JSON list on stdout) into legacy_vectors.json. Salts are fixed, so a rerun
gives the same vectors. Only hashlib and base64 are used, never latchkey's Go
code, so the vectors check latchkey against an independent implementation.
"""
import base64
import hashlib
import json


def ab64(b):
    # passlib's adapted base64: '.' instead of '+', no padding.
    return base64.b64encode(b).decode().rstrip("=").replace("+", ".")


def raw64(b):
    return base64.b64encode(b).decode().rstrip("=")


NOTE = "Python %s hashlib" % ".".join(map(str, __import__("sys").version_info[:3]))
out = []


def add(scheme, hash_, password, note, weak=False, **extra):
    v = {"scheme": scheme, "hash": hash_, "password": password, "weak": weak,
         "generator": NOTE + ": " + note}
    v.update(extra)
    out.append(v)


# Django: pbkdf2_<alg>$ITER$SALT$B64HASH, salt used as its text, hash in
# padded standard base64 (django.contrib.auth.hashers.PBKDF2PasswordHasher).
for alg, scheme, it, salt, pw in [
    ("sha256", "pbkdf2-sha256", 12000, "Wq9hRkH3ZbP2", "correct horse battery staple"),
    ("sha256", "pbkdf2-sha256", 870000, "c3dZ1pQ8rT0m4nKx", "Grüße, Jürgen! €"),
    ("sha1", "pbkdf2-sha1", 10000, "oldDjangoSalt", "letmein-sha1"),
]:
    dk = hashlib.pbkdf2_hmac(alg, pw.encode(), salt.encode(), it)
    add(scheme, "pbkdf2_%s$%d$%s$%s" % (alg, it, salt, base64.b64encode(dk).decode()), pw,
        "pbkdf2_hmac(%r, %d iterations), Django form" % (alg, it))

# passlib: $pbkdf2[-sha256|-sha512]$ROUNDS$ab64(salt)$ab64(key), key of the
# digest's size (passlib.handlers.pbkdf2).
for alg, prefix, scheme, it, salt, pw in [
    ("sha1", "$pbkdf2$", "pbkdf2-sha1", 131000, bytes(range(1, 17)), "passlib sha1"),
    ("sha256", "$pbkdf2-sha256$", "pbkdf2-sha256", 29000, b"\xfb\xef\xbe" + bytes(range(20, 33)), "passlib+sha256"),
    ("sha512", "$pbkdf2-sha512$", "pbkdf2-sha512", 25000, b"\xf8\x3e\x0f" * 6, "pässlib sha512"),
]:
    dk = hashlib.pbkdf2_hmac(alg, pw.encode(), salt, it)
    add(scheme, "%s%d$%s$%s" % (prefix, it, ab64(salt), ab64(dk)), pw,
        "pbkdf2_hmac(%r, %d iterations), passlib form (ab64)" % (alg, it))

# A weak one: under 10,000 iterations.
dk = hashlib.pbkdf2_hmac("sha256", b"weak-pbkdf2", b"weaksalt", 1000)
add("pbkdf2-sha256", "pbkdf2_sha256$1000$weaksalt$" + base64.b64encode(dk).decode(), "weak-pbkdf2",
    "pbkdf2_hmac('sha256', 1000 iterations), Django form", weak=True)

# passlib's scrypt: $scrypt$ln=LOGN,r=R,p=P$b64(salt)$b64(key), 32-byte key,
# standard base64 without padding.
for ln, r, p, salt, pw, weak in [
    (14, 8, 1, bytes(range(100, 116)), "scrypt password", False),
    (15, 4, 2, b"\xff\xfe\xfd\xfc" * 4, "über-scrypt", False),
    (10, 8, 1, b"short-scrypt-salt", "weak scrypt", True),
]:
    dk = hashlib.scrypt(pw.encode(), salt=salt, n=1 << ln, r=r, p=p, maxmem=1 << 30, dklen=32)
    add("scrypt", "$scrypt$ln=%d,r=%d,p=%d$%s$%s" % (ln, r, p, raw64(salt), raw64(dk)), pw,
        "scrypt(N=2^%d, r=%d, p=%d), passlib form" % (ln, r, p), weak=weak)

# Salted SHA: the hex digest, salt and order as an export would give them,
# and latchkey's stored form built here independently:
# $<alg>-salted$o=sp|ps$b64(salt)$b64(digest).
for alg, order, salt, pw in [
    ("sha256", "sp", "s4lt!", "sha256 salt first"),
    ("sha256", "ps", "pepperish", "sha256 password first"),
    ("sha512", "sp", "NaCl-512", "sha512 salt first"),
    ("sha512", "ps", "", "sha512 no salt"),
]:
    data = (salt + pw) if order == "sp" else (pw + salt)
    digest = hashlib.new(alg, data.encode()).digest()
    add(alg + "-salted", "$%s-salted$o=%s$%s$%s" % (alg, order, raw64(salt.encode()), raw64(digest)), pw,
        "%s(%s)" % (alg, "salt+password" if order == "sp" else "password+salt"), weak=True,
        salted={"alg": alg, "salt": salt, "order": order, "hex": digest.hex()})

print(json.dumps(out))
