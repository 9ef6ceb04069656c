import { CHOSEN_PASSWORD_ROUNDS, GENERATED_PASSWORD_ROUNDS, stableHtpasswdEntry } from "./credentials";
import { parseSha512Crypt, verifySha512Crypt } from "../authProxy/shaCrypt";

describe("stableHtpasswdEntry", () => {
    const salt = "abcdefghijklmnopqrstuv"; // the RandomString kept in state: 22 characters

    test("verifies against the password and nothing else", () => {
        const entry = stableHtpasswdEntry("correct horse battery", salt, false);
        expect(verifySha512Crypt("correct horse battery", entry)).toBe(true);
        expect(verifySha512Crypt("correct horse battery!", entry)).toBe(false);
    });

    test("is the same on every run for the same password and salt, so the proxy is not replaced", () => {
        expect(stableHtpasswdEntry("pw-123456789012", salt, true)).toBe(stableHtpasswdEntry("pw-123456789012", salt, true));
    });

    test.each([["password", "pw-123456789013", salt], ["salt", "pw-123456789012", "bbcdefghijklmnopqrstuv"]])(
        "changes when the %s changes", (_what, password, otherSalt) => {
            expect(stableHtpasswdEntry("pw-123456789012", salt, true)).not.toBe(stableHtpasswdEntry(password, otherSalt, true));
        });

    test.each([[true, GENERATED_PASSWORD_ROUNDS, 1000], [false, CHOSEN_PASSWORD_ROUNDS, 5000]])(
        "generated=%p: $6$ with rounds=%p and the salt's first 16 characters", (generated, rounds, literal) => {
            expect(rounds).toBe(literal);
            expect(parseSha512Crypt(stableHtpasswdEntry("x".repeat(12), salt, generated)))
                .toEqual({ rounds, salt: "abcdefghijklmnop", hash: expect.any(String) });
        });
});
