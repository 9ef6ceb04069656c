import * as bcrypt from "bcryptjs";
import { stableBcrypt } from "./credentials";

describe("stableBcrypt", () => {
    const salt = "abcdefghijklmnopqrstuv";

    test("verifies against the password and nothing else", () => {
        const hash = stableBcrypt("correct horse battery", salt);
        expect(bcrypt.compareSync("correct horse battery", hash)).toBe(true);
        expect(bcrypt.compareSync("correct horse battery!", hash)).toBe(false);
    });

    test("is the same on every run for the same password and salt, so the proxy is not replaced", () => {
        expect(stableBcrypt("pw-123456789012", salt)).toBe(stableBcrypt("pw-123456789012", salt));
    });

    test("changes when the password changes", () => {
        expect(stableBcrypt("pw-123456789012", salt)).not.toBe(stableBcrypt("pw-123456789013", salt));
    });

    test("is the $2b$ form nginx accepts", () => {
        expect(stableBcrypt("x".repeat(12), salt)).toMatch(/^\$2b\$10\$[./A-Za-z0-9]{53}$/);
    });
});
