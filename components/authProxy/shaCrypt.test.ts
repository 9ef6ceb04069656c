import { parseSha512Crypt, sha512Crypt, verifySha512Crypt } from "./shaCrypt";

// The SHA-512 test vectors of the published spec (Drepper, "Unix crypt using SHA-256 and
// SHA-512", section "Test vectors"); the two last rows come from libxcrypt's crypt() on this
// machine (Python's crypt module): an empty password and non-ASCII UTF-8.
// [password, salt as given, rounds, expected entry]
const VECTORS: Array<[string, string, number, string]> = [
    ["Hello world!", "saltstring", 5000,
        "$6$rounds=5000$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"],
    ["Hello world!", "saltstringsaltstring", 10000,
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."],
    ["This is just a test", "toolongsaltstring", 5000,
        "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"],
    ["a very much longer text to encrypt.  This one even stretches over morethan one line.", "anotherlongsaltstring", 1400,
        "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"],
    ["we have a short salt string but not a short password", "short", 77777,
        "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"],
    ["a short string", "asaltof16chars..", 123456,
        "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"],
    ["the minimum number is still observed", "roundstoolow", 1000,
        "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."],
    ["", "x", 1000,
        "$6$rounds=1000$x$JUgHESfT/mKR2X.Qz/PrkEgBINN.wbH/GsJhhFRcgrb0a4MjVYFixxXtKicccBbv9PSG/n1kVdpVqZiR7Brv1."],
    [`pässwörd ✓ ${"x".repeat(70)}`, "abcdefghijklmnop", 1000,
        "$6$rounds=1000$abcdefghijklmnop$6VHtgcVqKEVHtGtHb3dJ4qpgxG.7jrmzZQzL936561FpdTK5l6.NL5Ef3ZxDd63XGbrBrQkOR80OwvqX3wM5r1"],
];

describe("sha512Crypt", () => {
    test.each(VECTORS)("%p with salt %p, %p rounds", (password, salt, rounds, expected) => {
        expect(sha512Crypt(password, salt, rounds)).toBe(expected);
    });

    test("verify accepts the password and nothing else", () => {
        const entry = sha512Crypt("correct horse battery", "abcdefgh", 1000);
        expect(verifySha512Crypt("correct horse battery", entry)).toBe(true);
        expect(verifySha512Crypt("correct horse battery!", entry)).toBe(false);
        expect(verifySha512Crypt("correct horse battery", entry.replace("rounds=1000", "rounds=1001"))).toBe(false);
    });

    test("parses its own entries", () => {
        expect(parseSha512Crypt(sha512Crypt("pw", "abc", 1234))).toEqual({ rounds: 1234, salt: "abc", hash: expect.stringMatching(/^[./0-9A-Za-z]{86}$/) });
        expect(parseSha512Crypt("$2b$10$" + "a".repeat(53))).toBeUndefined();
        expect(parseSha512Crypt("$6$saltstring$" + "a".repeat(86))).toBeUndefined();
    });

    test.each([[999], [0], [1.5], [1e9]])("refuses %p rounds", rounds => {
        expect(() => sha512Crypt("pw", "salt", rounds)).toThrow(/rounds must be a whole number from 1000/);
    });

    test.each([[""], ["a$b"], ["with space"]])("refuses salt %p", salt => {
        expect(() => sha512Crypt("pw", salt, 1000)).toThrow(/salts are 1-16 characters/);
    });
});
