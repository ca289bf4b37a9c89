package secrets

// Legacy password hashes: the formats other systems store, imported as they
// are (no password is known at import) and verified on the first login, after
// which the caller re-hashes the password to Argon2id. See "Imported password
// hashes" in docs/SECURITY.md for the formats, limits and weak rules.

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// The schemes PasswordScheme reports. SchemeArgon2id is latchkey's own.
const (
	SchemeArgon2id     = "argon2id"
	SchemeArgon2i      = "argon2i"
	SchemeBcrypt       = "bcrypt"
	SchemePBKDF2SHA1   = "pbkdf2-sha1"
	SchemePBKDF2SHA256 = "pbkdf2-sha256"
	SchemePBKDF2SHA512 = "pbkdf2-sha512"
	SchemeScrypt       = "scrypt"
	SchemeSHA256Salted = "sha256-salted"
	SchemeSHA512Salted = "sha512-salted"
)

// Schemes lists every scheme latchkey verifies, latchkey's own first.
var Schemes = []string{SchemeArgon2id, SchemeArgon2i, SchemeBcrypt, SchemePBKDF2SHA1, SchemePBKDF2SHA256,
	SchemePBKDF2SHA512, SchemeScrypt, SchemeSHA256Salted, SchemeSHA512Salted}

// ErrWeakHash means an imported hash uses a scheme or parameters too weak to
// keep unless the import allows that scheme.
var ErrWeakHash = errors.New("weak password hash")

// Limits on the work one verification may cost, checked at import and again
// at every login, so an imported hash cannot make a login a denial of service.
const (
	MaxHashLen      = 1024           // characters of a stored hash
	MaxBcryptCost   = 14             // 2^14 Blowfish rounds, about 1 s
	MaxPBKDF2Iter   = 5_000_000      // iterations × output blocks: about 0.7–0.9 s of one core
	MaxScryptLogN   = 20             // N ≤ 2^20
	MaxScryptRP     = 64             // r·p
	MaxScryptMemory = 256 << 20      // bytes, 128·N·r: a password worker's budget beside the default 19 MiB
	MaxScryptWork   = 1 << 21        // N·r·p: 16 × (N=2^14, r=8, p=1), about 0.7 s of one core
	MaxArgon2Memory = 256 * 1024     // KiB (256 MiB): each password worker may need it at once
	MaxArgon2Time   = 64             // passes
	MaxArgon2Work   = 256 * 1024 * 8 // KiB·passes, m·t: about a second of one core
	maxSaltLen      = 256            // bytes
	minKeyLen       = 16             // bytes of a derived key
	maxKeyLen       = 128            // bytes of a derived key
)

// Weak thresholds: below them an import needs --allow-weak for the scheme.
const (
	MinBcryptCost   = 8
	MinPBKDF2Iter   = 10_000
	MinScryptLogN   = 14    // N = 16384, scrypt's interactive-login figure
	MinArgon2Work   = 32768 // KiB·passes (m·t), below OWASP's lowest row
	MinArgon2Memory = 7168  // KiB, OWASP's lowest memory (with t=5)
)

// legacy is a parsed stored hash of any scheme.
type legacy struct {
	scheme    string
	iter      int // pbkdf2 iterations
	logN      int // scrypt
	r, p      int // scrypt
	mem, time uint32
	threads   uint8
	saltFirst bool // salted SHA
	salt, key []byte
	bcrypt    []byte // the whole bcrypt hash, as x/crypto reads it
}

// PasswordScheme returns the scheme of a stored hash from its prefix, without
// checking the rest; ErrMalformedHash for a form latchkey does not know.
func PasswordScheme(hash string) (string, error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return SchemeArgon2id, nil
	case strings.HasPrefix(hash, "$argon2i$"):
		return SchemeArgon2i, nil
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return SchemeBcrypt, nil
	case strings.HasPrefix(hash, "$pbkdf2$"), strings.HasPrefix(hash, "pbkdf2_sha1$"):
		return SchemePBKDF2SHA1, nil
	case strings.HasPrefix(hash, "$pbkdf2-sha256$"), strings.HasPrefix(hash, "pbkdf2_sha256$"):
		return SchemePBKDF2SHA256, nil
	case strings.HasPrefix(hash, "$pbkdf2-sha512$"):
		return SchemePBKDF2SHA512, nil
	case strings.HasPrefix(hash, "$scrypt$"):
		return SchemeScrypt, nil
	case strings.HasPrefix(hash, "$sha256-salted$"):
		return SchemeSHA256Salted, nil
	case strings.HasPrefix(hash, "$sha512-salted$"):
		return SchemeSHA512Salted, nil
	case strings.HasPrefix(hash, "$argon2d$"):
		return "", fmt.Errorf("%w: argon2d is not supported (only argon2i and argon2id)", ErrMalformedHash)
	case hash == "":
		return "", fmt.Errorf("%w: empty", ErrMalformedHash)
	}
	return "", fmt.Errorf("%w: unknown format; %s", ErrMalformedHash, acceptedForms)
}

const acceptedForms = "accepted: bcrypt ($2a$, $2b$, $2y$), PBKDF2 ($pbkdf2$, $pbkdf2-sha256$, $pbkdf2-sha512$, " +
	"pbkdf2_sha256$, pbkdf2_sha1$), scrypt ($scrypt$ln=,r=,p=), argon2i and argon2id ($argon2i$v=19$, $argon2id$v=19$), " +
	"salted SHA ($sha256-salted$, $sha512-salted$)"

// CheckImportedHash parses an imported hash fully and returns its scheme; it
// refuses unknown, malformed, too costly and (unless allowWeak names the
// scheme) weak hashes. Errors name the scheme and the problem, never the hash.
func CheckImportedHash(hash string, allowWeak []string) (scheme string, err error) {
	l, err := parseAny(hash)
	if err != nil {
		return l.scheme, err
	}
	if why := l.weakness(); why != "" && !slices.Contains(allowWeak, l.scheme) {
		return l.scheme, fmt.Errorf("%w: %s: %s (allow it with --allow-weak %s)", ErrWeakHash, l.scheme, why, l.scheme)
	}
	return l.scheme, nil
}

// SaltedSHAHash builds the stored form of a salted SHA-256 or SHA-512 hex
// digest: $<alg>-salted$o=<sp|ps>$<salt>$<digest>, base64 without padding,
// where o=sp means the digest is of salt+password and o=ps of password+salt.
// alg is "sha256" or "sha512" (any case, "SHA-256" too); the salt is taken
// as its bytes (UTF-8), and may be empty; the digest is hex, any case.
func SaltedSHAHash(alg string, saltFirst bool, salt, hexDigest string) (string, error) {
	var size int
	switch alg = strings.ReplaceAll(strings.ToLower(alg), "-", ""); alg {
	case "sha256":
		size = sha256.Size
	case "sha512":
		size = sha512.Size
	default:
		return "", fmt.Errorf("%w: salted SHA algorithm %q is not sha256 or sha512", ErrMalformedHash, alg)
	}
	if len(salt) > maxSaltLen {
		return "", fmt.Errorf("%w: %s-salted: salt longer than %d bytes", ErrMalformedHash, alg, maxSaltLen)
	}
	digest, err := hex.DecodeString(hexDigest)
	if err != nil || len(digest) != size {
		return "", fmt.Errorf("%w: %s-salted: digest is not %d hex characters", ErrMalformedHash, alg, 2*size)
	}
	order := "ps"
	if saltFirst {
		order = "sp"
	}
	return fmt.Sprintf("$%s-salted$o=%s$%s$%s", alg, order, b64.EncodeToString([]byte(salt)), b64.EncodeToString(digest)), nil
}

// verifyLegacy checks password against a hash of any scheme but latchkey's
// own; every comparison is constant-time.
func verifyLegacy(hash, password string) (ok bool, err error) {
	l, err := parseAny(hash)
	if err != nil {
		return false, err
	}
	var got []byte
	switch l.scheme {
	case SchemeBcrypt:
		// x/crypto reads $2a$, $2b$ and $2y$ alike (the same algorithm) and
		// compares in constant time.
		err := bcrypt.CompareHashAndPassword(l.bcrypt, []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
		}
		return true, nil
	case SchemePBKDF2SHA1, SchemePBKDF2SHA256, SchemePBKDF2SHA512:
		got, err = pbkdf2.Key(pbkdf2Hash(l.scheme), password, l.salt, l.iter, len(l.key))
		if err != nil {
			return false, fmt.Errorf("%s: %w", l.scheme, err)
		}
	case SchemeScrypt:
		got, err = scrypt.Key([]byte(password), l.salt, 1<<l.logN, l.r, l.p, len(l.key))
		if err != nil {
			return false, fmt.Errorf("scrypt: %w", err)
		}
	case SchemeArgon2i:
		got = argon2.Key([]byte(password), l.salt, l.time, l.mem, l.threads, uint32(len(l.key)))
	case SchemeSHA256Salted, SchemeSHA512Salted:
		h := sha256.New()
		if l.scheme == SchemeSHA512Salted {
			h = sha512.New()
		}
		if l.saltFirst {
			h.Write(l.salt)
			h.Write([]byte(password))
		} else {
			h.Write([]byte(password))
			h.Write(l.salt)
		}
		got = h.Sum(nil)
	default:
		return false, fmt.Errorf("%w: %s is not a legacy scheme", ErrMalformedHash, l.scheme)
	}
	return subtle.ConstantTimeCompare(got, l.key) == 1, nil
}

func pbkdf2Hash(scheme string) func() hash.Hash {
	switch scheme {
	case SchemePBKDF2SHA1:
		return sha1.New
	case SchemePBKDF2SHA512:
		return sha512.New
	}
	return sha256.New
}

// parseAny parses a stored hash of any scheme and checks its limits; l.scheme
// is set whenever the scheme was recognised, even on error.
func parseAny(hash string) (legacy, error) {
	scheme, err := PasswordScheme(hash)
	if err != nil {
		return legacy{}, err
	}
	l := legacy{scheme: scheme}
	if len(hash) > MaxHashLen {
		return l, fmt.Errorf("%w: %s: longer than %d characters", ErrMalformedHash, scheme, MaxHashLen)
	}
	switch scheme {
	case SchemeArgon2id, SchemeArgon2i:
		err = l.parseArgon2(hash)
	case SchemeBcrypt:
		err = l.parseBcrypt(hash)
	case SchemePBKDF2SHA1, SchemePBKDF2SHA256, SchemePBKDF2SHA512:
		if strings.HasPrefix(hash, "pbkdf2_") {
			err = l.parseDjango(hash)
		} else {
			err = l.parsePBKDF2(hash)
		}
		if err == nil {
			err = l.checkPBKDF2Work()
		}
	case SchemeScrypt:
		err = l.parseScrypt(hash)
	case SchemeSHA256Salted, SchemeSHA512Salted:
		err = l.parseSalted(hash)
	}
	if err != nil {
		return l, fmt.Errorf("%w: %s: %s", ErrMalformedHash, scheme, err.Error())
	}
	return l, nil
}

// ab64 decodes passlib's adapted base64 ('.' for '+', no padding) as well as
// standard base64 with or without padding, which is what PHC strings use.
func ab64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "=")
	return base64.RawStdEncoding.DecodeString(s)
}

func (l *legacy) decodeSaltKey(salt, key string) error {
	var err error
	if l.salt, err = ab64(salt); err != nil {
		return errors.New("salt is not base64")
	}
	if len(l.salt) == 0 || len(l.salt) > maxSaltLen {
		return fmt.Errorf("salt is not 1 to %d bytes", maxSaltLen)
	}
	if l.key, err = ab64(key); err != nil {
		return errors.New("hash is not base64")
	}
	return l.checkKeyLen()
}

func (l *legacy) checkKeyLen() error {
	if len(l.key) < minKeyLen || len(l.key) > maxKeyLen {
		return fmt.Errorf("hash is %d bytes, not %d to %d", len(l.key), minKeyLen, maxKeyLen)
	}
	return nil
}

// parseArgon2 reads $argon2i$v=19$m=..,t=..,p=..$salt$hash (and argon2id).
func (l *legacy) parseArgon2(hash string) error {
	parts := strings.Split(hash, "$")
	if len(parts) == 5 && strings.HasPrefix(parts[2], "m=") {
		return errors.New("no version field, which means version 16 (0x10); only v=19 is supported")
	}
	if len(parts) != 6 {
		return errors.New("not $argon2…$v=19$m=,t=,p=$salt$hash")
	}
	switch parts[2] {
	case "v=19":
	case "v=16":
		return errors.New("version 16 (0x10) is not supported, only v=19")
	default:
		return errors.New("version is not v=19")
	}
	var m, t, p uint64
	if err := parseParams(parts[3], "m,t,p", &m, &t, &p); err != nil {
		return err
	}
	switch {
	case m < 8 || m > MaxArgon2Memory:
		return fmt.Errorf("memory m=%d KiB is not 8 to %d", m, MaxArgon2Memory)
	case t < 1 || t > MaxArgon2Time:
		return fmt.Errorf("passes t=%d are not 1 to %d", t, MaxArgon2Time)
	case m*t > MaxArgon2Work:
		return fmt.Errorf("work m·t=%d is over %d", m*t, MaxArgon2Work)
	case p < 1 || p > 255:
		return fmt.Errorf("lanes p=%d are not 1 to 255", p)
	case m < 8*p:
		return fmt.Errorf("memory m=%d KiB is under 8 KiB per lane", m)
	}
	l.mem, l.time, l.threads = uint32(m), uint32(t), uint8(p)
	if err := l.decodeSaltKey(parts[4], parts[5]); err != nil {
		return err
	}
	if len(l.salt) < 8 {
		return errors.New("salt is under 8 bytes, Argon2's minimum")
	}
	return nil
}

// parseParams reads "k=v,k=v" with exactly the keys names lists ("m,t,p"),
// in that order, each value (at most 32 bits) into the pointer of its place.
func parseParams(s, names string, into ...*uint64) error {
	keys, fields := strings.Split(names, ","), strings.Split(s, ",")
	if len(fields) != len(keys) {
		return fmt.Errorf("parameters are not %s=", strings.ReplaceAll(names, ",", "=,"))
	}
	for i, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k != keys[i] {
			return fmt.Errorf("parameters are not %s=", strings.ReplaceAll(names, ",", "=,"))
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("parameter %s is not a number", k)
		}
		*into[i] = n
	}
	return nil
}

// parseBcrypt reads $2a$, $2b$ or $2y$, a two-digit cost, then 53 characters
// of bcrypt's base64 (22 of salt, 31 of hash).
func (l *legacy) parseBcrypt(hash string) error {
	if len(hash) != 60 || hash[3] != '$' || hash[6] != '$' {
		return errors.New("not $2b$CC$ followed by 53 characters")
	}
	if !isDigit(hash[4]) || !isDigit(hash[5]) {
		return errors.New("cost is not two digits")
	}
	cost := int(hash[4]-'0')*10 + int(hash[5]-'0')
	if cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return fmt.Errorf("cost %d is not %d to %d", cost, bcrypt.MinCost, MaxBcryptCost)
	}
	for _, c := range hash[7:] {
		if !(c == '.' || c == '/' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return errors.New("salt and hash are not bcrypt base64")
		}
	}
	l.iter = cost
	l.bcrypt = []byte(hash)
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parsePBKDF2 reads passlib's $pbkdf2[-sha256|-sha512]$ROUNDS$salt$hash and
// the PHC form $pbkdf2-sha256$i=ROUNDS,l=LEN$salt$hash.
func (l *legacy) parsePBKDF2(hash string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 {
		return errors.New("not $pbkdf2…$ROUNDS$salt$hash")
	}
	keyLen := -1
	if strings.HasPrefix(parts[2], "i=") {
		// PHC: i=ROUNDS, with l=LEN optional (the hash's own length then).
		var i, n uint64
		var err error
		if strings.Contains(parts[2], ",") {
			err = parseParams(parts[2], "i,l", &i, &n)
			keyLen = int(n) // at most 2^32-1: parseParams reads 32 bits
		} else {
			err = parseParams(parts[2], "i", &i)
		}
		if err != nil {
			return err
		}
		l.iter = int(i)
	} else {
		n, err := strconv.Atoi(parts[2])
		if err != nil {
			return errors.New("rounds are not a number")
		}
		l.iter = n
	}
	if err := l.checkIter(); err != nil {
		return err
	}
	if err := l.decodeSaltKey(parts[3], parts[4]); err != nil {
		return err
	}
	if keyLen >= 0 && keyLen != len(l.key) {
		return fmt.Errorf("l=%d but the hash is %d bytes", keyLen, len(l.key))
	}
	return nil
}

func (l *legacy) checkIter() error {
	if l.iter < 1 || l.iter > MaxPBKDF2Iter {
		return fmt.Errorf("iterations %d are not 1 to %d", l.iter, MaxPBKDF2Iter)
	}
	return nil
}

// checkPBKDF2Work bounds the whole derivation: PBKDF2 runs its iterations
// once per block of the digest's size, so a long key multiplies the cost.
func (l *legacy) checkPBKDF2Work() error {
	size := pbkdf2Hash(l.scheme)().Size()
	if blocks := (len(l.key) + size - 1) / size; l.iter*blocks > MaxPBKDF2Iter {
		return fmt.Errorf("iterations %d × %d output blocks are over %d", l.iter, blocks, MaxPBKDF2Iter)
	}
	return nil
}

// parseDjango reads Django's pbkdf2_sha256$ITER$SALT$HASH: the salt is used
// as its text, the hash is standard base64 with padding.
func (l *legacy) parseDjango(hash string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 {
		return errors.New("not pbkdf2_…$ITER$SALT$HASH")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return errors.New("iterations are not a number")
	}
	l.iter = n
	if err := l.checkIter(); err != nil {
		return err
	}
	if len(parts[2]) == 0 || len(parts[2]) > maxSaltLen {
		return fmt.Errorf("salt is not 1 to %d characters", maxSaltLen)
	}
	l.salt = []byte(parts[2])
	if l.key, err = base64.StdEncoding.DecodeString(parts[3]); err != nil {
		return errors.New("hash is not base64")
	}
	return l.checkKeyLen()
}

// parseScrypt reads $scrypt$ln=LOGN,r=R,p=P$salt$hash (passlib's form; the
// salt and hash in standard or adapted base64).
func (l *legacy) parseScrypt(hash string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 {
		return errors.New("not $scrypt$ln=,r=,p=$salt$hash")
	}
	var ln, r, p uint64
	if err := parseParams(parts[2], "ln,r,p", &ln, &r, &p); err != nil {
		return err
	}
	switch {
	case ln < 1 || ln > MaxScryptLogN:
		return fmt.Errorf("ln=%d is not 1 to %d", ln, MaxScryptLogN)
	case r < 1 || p < 1 || r*p > MaxScryptRP:
		return fmt.Errorf("r=%d, p=%d: each must be at least 1 and r·p at most %d", r, p, MaxScryptRP)
	case 128*(uint64(1)<<ln)*r > MaxScryptMemory:
		return fmt.Errorf("memory 128·N·r is over %d MiB", MaxScryptMemory>>20)
	case (uint64(1)<<ln)*r*p > MaxScryptWork:
		return fmt.Errorf("work N·r·p is over 2^%d", bits.Len(MaxScryptWork)-1)
	}
	l.logN, l.r, l.p = int(ln), int(r), int(p)
	return l.decodeSaltKey(parts[3], parts[4])
}

// parseSalted reads $sha256-salted$o=sp|ps$salt$digest (SaltedSHAHash).
func (l *legacy) parseSalted(hash string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 {
		return errors.New("not $…-salted$o=sp|ps$salt$digest")
	}
	switch parts[2] {
	case "o=sp":
		l.saltFirst = true
	case "o=ps":
	default:
		return errors.New("order is not o=sp or o=ps")
	}
	var err error
	if l.salt, err = b64.DecodeString(parts[3]); err != nil || len(l.salt) > maxSaltLen {
		return fmt.Errorf("salt is not base64 of at most %d bytes", maxSaltLen)
	}
	if l.key, err = b64.DecodeString(parts[4]); err != nil {
		return errors.New("digest is not base64")
	}
	size := sha256.Size
	if l.scheme == SchemeSHA512Salted {
		size = sha512.Size
	}
	if len(l.key) != size {
		return fmt.Errorf("digest is %d bytes, not %d", len(l.key), size)
	}
	return nil
}

// weakness says why a parsed hash is weak, or "" when it is not.
func (l *legacy) weakness() string {
	switch l.scheme {
	case SchemeSHA256Salted, SchemeSHA512Salted:
		return "a single salted SHA digest is fast to brute-force"
	case SchemeBcrypt:
		if l.iter < MinBcryptCost {
			return fmt.Sprintf("cost %d is under %d", l.iter, MinBcryptCost)
		}
	case SchemePBKDF2SHA1, SchemePBKDF2SHA256, SchemePBKDF2SHA512:
		if l.iter < MinPBKDF2Iter {
			return fmt.Sprintf("%d iterations are under %d", l.iter, MinPBKDF2Iter)
		}
	case SchemeScrypt:
		if l.logN < MinScryptLogN {
			return fmt.Sprintf("N=2^%d is under 2^%d", l.logN, MinScryptLogN)
		}
	case SchemeArgon2i, SchemeArgon2id:
		if l.mem < MinArgon2Memory || uint64(l.mem)*uint64(l.time) < MinArgon2Work {
			return fmt.Sprintf("m=%d KiB, t=%d are under %d KiB or m·t %d", l.mem, l.time, MinArgon2Memory, MinArgon2Work)
		}
	}
	return ""
}
