// SHA-512-crypt ("$6$"), as published by Ulrich Drepper ("Unix crypt using SHA-256 and
// SHA-512", https://www.akkadia.org/drepper/SHA-crypt.txt) and implemented by glibc/libxcrypt
// and musl. nginx's auth_basic hands such entries to the system crypt(), so a hash computed
// here is verified by the Debian nginx of the e2e suite and the alpine nginx image alike.
// Pure and deterministic: the same password, salt and rounds always give the same line.
import { createHash } from "crypto";

export const SHA_CRYPT_MIN_ROUNDS = 1000;
export const SHA_CRYPT_MAX_ROUNDS = 999_999_999;
export const SHA_CRYPT_MAX_SALT = 16;
const B64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The spec's byte order for turning the 64-byte digest into 86 base-64 characters. */
const ORDER: Array<[number, number, number]> = [];
for (let i = 0; i < 21; i++) {
    // (i, i+21, i+42), rotated left by i mod 3: (0,21,42), (22,43,1), (44,2,23), (3,24,45), ...
    const t = [i, i + 21, i + 42];
    const r = i % 3;
    ORDER.push([t[r], t[(r + 1) % 3], t[(r + 2) % 3]]);
}

function sha512(...parts: Buffer[]): Buffer {
    const h = createHash("sha512");
    for (const p of parts) h.update(p);
    return h.digest();
}

/** `len` bytes of `block` repeated (the spec's "for each block of 64 bytes ... remaining bytes"). */
function repeat(block: Buffer, len: number): Buffer {
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
    return out;
}

function encode(digest: Buffer): string {
    let out = "";
    const put = (b2: number, b1: number, b0: number, n: number) => {
        let w = (b2 << 16) | (b1 << 8) | b0;
        for (let i = 0; i < n; i++, w >>= 6) out += B64[w & 0x3f];
    };
    // Step 22: triples of digest bytes, as listed in the spec, then the last byte alone.
    for (const [a, b, c] of ORDER) put(digest[a], digest[b], digest[c], 4);
    put(0, 0, digest[63], 2);
    return out;
}

/** The 86-character hash part of `$6$rounds=R$salt$<hash>` (spec steps 1-22). */
function digestOf(password: Buffer, salt: Buffer, rounds: number): Buffer {
    const b = sha512(password, salt, password);
    const a = createHash("sha512").update(password).update(salt).update(repeat(b, password.length));
    for (let n = password.length; n > 0; n >>= 1) a.update(n & 1 ? b : password);
    let c = a.digest();
    const p = repeat(sha512(...new Array<Buffer>(password.length).fill(password)), password.length);
    const s = repeat(sha512(...new Array<Buffer>(16 + c[0]).fill(salt)), salt.length);
    for (let i = 0; i < rounds; i++) {
        const h = createHash("sha512");
        h.update(i & 1 ? p : c);
        if (i % 3) h.update(s);
        if (i % 7) h.update(p);
        h.update(i & 1 ? c : p);
        c = h.digest();
    }
    return c;
}

/**
 * `$6$rounds=<rounds>$<salt>$<hash>`. The rounds count is always written out, so a reader never
 * falls back to a default; salts longer than 16 characters are cut as the spec does.
 */
export function sha512Crypt(password: string, salt: string, rounds: number): string {
    if (!Number.isInteger(rounds) || rounds < SHA_CRYPT_MIN_ROUNDS || rounds > SHA_CRYPT_MAX_ROUNDS) {
        throw new Error(`SHA-crypt rounds must be a whole number from ${SHA_CRYPT_MIN_ROUNDS} to ${SHA_CRYPT_MAX_ROUNDS}, got ${rounds}`);
    }
    const s = salt.slice(0, SHA_CRYPT_MAX_SALT);
    if (s === "" || !/^[./0-9A-Za-z]+$/.test(s)) {
        throw new Error("SHA-crypt salts are 1-16 characters from [./0-9A-Za-z]");
    }
    const hash = encode(digestOf(Buffer.from(password, "utf8"), Buffer.from(s, "ascii"), rounds));
    return `$6$rounds=${rounds}$${s}$${hash}`;
}

export interface ShaCryptParts {
    readonly rounds: number;
    readonly salt: string;
    readonly hash: string;
}

/** Splits a `$6$rounds=R$salt$hash` entry; undefined for anything else. */
export function parseSha512Crypt(entry: string): ShaCryptParts | undefined {
    const m = /^\$6\$rounds=(\d{1,9})\$([./0-9A-Za-z]{1,16})\$([./0-9A-Za-z]{86})$/.exec(entry);
    return m ? { rounds: Number(m[1]), salt: m[2], hash: m[3] } : undefined;
}

/** Whether `password` matches a `$6$rounds=...` entry (used by the e2e renderer to find its password). */
export function verifySha512Crypt(password: string, entry: string): boolean {
    const parts = parseSha512Crypt(entry);
    if (!parts || parts.rounds < SHA_CRYPT_MIN_ROUNDS) return false;
    return sha512Crypt(password, parts.salt, parts.rounds) === entry;
}
