/** Unit tests run in parallel with Pulumi mocks; end-to-end tests run in band against the real lakehouse. */
const tsJest = { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] };
module.exports = {
  testTimeout: 900000,
  testSequencer: "<rootDir>/tests/e2e/sequencer.js",
  projects: [
    { displayName: "unit", testEnvironment: "node", transform: tsJest, testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { displayName: "e2e", testEnvironment: "node", transform: tsJest, testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"] },
  ],
};
