/** Unit tests: Pulumi mocks and pure renderers. The e2e suite (e2e/) runs separately. */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests", "<rootDir>/components", "<rootDir>/policy", "<rootDir>/cost"],
    testMatch: ["**/*.test.ts"],
    // Type checking is `tsc --noEmit` in `npm test`; transpile-only keeps jest fast.
    transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
    testTimeout: 20000,
};
