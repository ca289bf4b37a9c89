// Generates legacy_vectors.json: password hashes of every legacy scheme
// latchkey verifies, made by implementations independent of latchkey's Go
// code (hash-wasm and bcryptjs here, Python's hashlib in gen_vectors.py),
// each with its right password. Salts are fixed, so a rerun gives the same
// file. To rerun, from the repository root (needs node and python3):
//
//	d=$(mktemp -d) && cp internal/secrets/testdata/gen_vectors.mjs "$d" &&
//	(cd "$d" && npm init -y >/dev/null && npm install hash-wasm@4.13.0 bcryptjs@3.0.3 &&
//	 GEN_PY="$OLDPWD/internal/secrets/testdata/gen_vectors.py" \
//	 node gen_vectors.mjs "$OLDPWD/internal/secrets/testdata/legacy_vectors.json")
//
// The packages are installed outside the repository on purpose.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(process.cwd(), "noop.js"));
const hw = require("hash-wasm");
const bcryptjs = require("bcryptjs");
const version = (pkg) =>
  JSON.parse(readFileSync(join(process.cwd(), "node_modules", pkg, "package.json"), "utf8")).version;
const hwVersion = version("hash-wasm");
const bjVersion = version("bcryptjs");

const out = process.argv[2] ? resolve(process.argv[2]) : join(here, "legacy_vectors.json");
const genPy = process.env.GEN_PY || join(here, "gen_vectors.py");

const b64 = (u8) => Buffer.from(u8).toString("base64").replace(/=+$/, "");
const bytes = (n, f) => Uint8Array.from({ length: n }, (_, i) => f(i));
const vectors = [];
const add = (scheme, hash, password, generator, weak = false) =>
  vectors.push({ scheme, hash, password, weak, generator });

// Argon2i and Argon2id, PHC encoded by hash-wasm (v=19).
for (const [fn, scheme, m, t, p, len, pw, weak] of [
  ["argon2i", "argon2i", 7168, 5, 1, 32, "argon2i password", false],
  ["argon2i", "argon2i", 16384, 3, 2, 24, "Ärgon2i, zwei Lanes", false],
  ["argon2i", "argon2i", 1024, 2, 1, 32, "weak argon2i", true],
  ["argon2id", "argon2id", 12288, 3, 1, 32, "foreign argon2id", false],
]) {
  const salt = bytes(16, (i) => (i * 37 + m) & 0xff);
  const hash = await hw[fn]({ password: pw, salt, parallelism: p, iterations: t, memorySize: m, hashLength: len, outputType: "encoded" });
  add(scheme, hash, pw, `hash-wasm ${hwVersion} ${fn}(m=${m}, t=${t}, p=${p}, ${len}-byte key)`, weak);
}

// bcrypt from two libraries; $2y$ is PHP's name for the same algorithm, so
// PHP's hashes are these with the prefix renamed (as PHP's crypt() writes it).
{
  const pw = "bcrypt via hash-wasm";
  const hash = await hw.bcrypt({ password: pw, salt: bytes(16, (i) => i * 11), costFactor: 8, outputType: "encoded" });
  add("bcrypt", hash, pw, `hash-wasm ${hwVersion} bcrypt(cost 8)`);
}
for (const [prefix, cost, pw, weak] of [
  ["$2b$", 8, "bcryptjs 2b", false],
  ["$2a$", 10, "bcryptjs 2a ünïcödé", false],
  ["$2b$", 9, "long " + "x".repeat(80), false], // over 72 bytes: bcrypt reads the first 72
  ["$2a$", 4, "weak bcrypt", true],
]) {
  const salt = `${prefix}${String(cost).padStart(2, "0")}$` + "abcdefghijklmnopqrstuv".slice(0, 21) + "e";
  add("bcrypt", bcryptjs.hashSync(pw, salt), pw, `bcryptjs ${bjVersion} hashSync(cost ${cost}, ${prefix})`, weak);
}
{
  const pw = "php style 2y";
  const h = bcryptjs.hashSync(pw, "$2b$08$" + "0123456789ABCDEFGHIJKe");
  add("bcrypt", "$2y$" + h.slice(4), pw, `bcryptjs ${bjVersion} hashSync(cost 8), prefix renamed $2y$ as PHP writes it`);
}

// scrypt in the PHC form of @phc/scrypt and passlib (standard base64).
{
  const pw = "scrypt via hash-wasm";
  const salt = bytes(16, (i) => 255 - i);
  const key = await hw.scrypt({ password: pw, salt, costFactor: 1 << 14, blockSize: 8, parallelism: 1, hashLength: 32, outputType: "binary" });
  add("scrypt", `$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(key)}`, pw, `hash-wasm ${hwVersion} scrypt(N=2^14, r=8, p=1)`);
}

// PBKDF2 in the PHC form with explicit length (@phc/pbkdf2's
// $pbkdf2-<digest>$i=ROUNDS,l=LEN$salt$hash, standard base64).
// l= is optional in PHC (the key's own length then).
for (const [digest, create, it, len, pw, withL] of [
  ["sha256", hw.createSHA256, 25000, 32, "phc pbkdf2 sha256", true],
  ["sha512", hw.createSHA512, 12000, 64, "phc pbkdf2 sha512", true],
  ["sha256", hw.createSHA256, 20000, 32, "phc pbkdf2 without l", false],
]) {
  const salt = bytes(12, (i) => i + 200);
  const key = await hw.pbkdf2({ password: pw, salt, iterations: it, hashLength: len, hashFunction: create(), outputType: "binary" });
  const params = withL ? `i=${it},l=${len}` : `i=${it}`;
  add(`pbkdf2-${digest}`, `$pbkdf2-${digest}$${params}$${b64(salt)}$${b64(key)}`, pw,
    `hash-wasm ${hwVersion} pbkdf2(${digest}, ${it} iterations), PHC form`);
}

const py = JSON.parse(execFileSync("python3", [genPy], { encoding: "utf8" }));
vectors.push(...py);
writeFileSync(out, JSON.stringify(vectors, null, 2) + "\n");
console.log(`wrote ${vectors.length} vectors to ${out}`);
