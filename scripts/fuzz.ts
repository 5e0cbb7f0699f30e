// npm run fuzz -- [--n N] [--seed S] [--loader TEXT] [--cli N] [--kills N] [--out DIR]
// The loaders' fuzz suites at depth (test/fuzz-loaders.ts; 10,000 cases each by default, seeded,
// so a run is reproducible), reads of .npy, PNG and JPEG checked against NumPy and Pillow; then
// damaged run folders resumed through the CLI and SIGKILLed writes (test/fuzz-cli.ts). Each
// failing case is written to DIR (default fuzz-failures/) as the file itself and a note of what was
// done to it and what went wrong. Exits 1 if anything failed. Needs `npm run build` (the npm script
// runs it).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fuzzResumeCli, killWrites } from '../test/fuzz-cli.js';
import { LOADERS } from '../test/fuzz-loaders.js';
import { fuzzLoader } from '../test/fuzz-run.js';
import { oracleMissing } from '../test/python-oracle.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    loader: { type: 'string' },
    cli: { type: 'string', default: '100' },
    kills: { type: 'string', default: '40' },
    out: { type: 'string', default: 'fuzz-failures' },
  },
});
const [n, seed, cli, kills] = [values.n, values.seed, values.cli, values.kills].map(Number);
const slug = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
let failed = 0;

process.stdout.write(`fuzz: ${n} cases per loader, seed ${seed}\n\n| loader | cases | refused | read | read checked by the reference | failures | time |\n|---|---:|---:|---:|---:|---:|---:|\n`);
for (const loader of LOADERS.filter((l) => !values.loader || l.name.includes(values.loader))) {
  const missing = loader.oracle && oracleMissing(loader.oracle.kind);
  const t0 = performance.now();
  const r = await fuzzLoader(loader, n, seed, { oracle: !missing, refusals: true });
  const seconds = (performance.now() - t0) / 1000;
  const reference = loader.oracle?.kind === 'npy' ? 'NumPy' : 'Pillow';
  const checked = loader.oracle ? (missing ? `not checked: ${missing}` : `${r.checked} (${reference}); ${reference} reads ${r.stricter} of the refused`) : '-';
  process.stdout.write(`| ${loader.name} | ${n} | ${r.refused} | ${r.read} | ${checked} | ${r.failures.length} | ${seconds.toFixed(0)} s |\n`);
  for (const f of r.failures) {
    const dir = path.join(values.out, slug(loader.name));
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `seed-${seed}-case-${f.index}`);
    writeFileSync(`${file}.bin`, f.bytes);
    writeFileSync(`${file}.txt`, `${loader.name}, seed ${seed}, case ${f.index}\nmutation: ${f.how}\nfailure: ${f.why}\n`);
  }
  failed += r.failures.length;
}

if (!values.loader) {
  const t0 = performance.now();
  const r = await fuzzResumeCli(cli, seed);
  process.stdout.write(`\nalexnet train --resume on ${cli} damaged run folders: ${r.refused} refused by name with the folder unchanged, ${r.trained} trained on; ${r.failures.length} failures (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  for (const f of r.failures) process.stdout.write(`  case ${f.index} (${f.how}): ${f.why}\n    kept in ${f.dir}\n`);
  failed += r.failures.length;
  const k = await killWrites(kills, seed);
  process.stdout.write(`alexnet init --out killed ${kills} times mid-run: ${k.leftBeforeCleanup} temp files left by the kills, removed by the next write; ${k.problems.length} problems\n`);
  for (const p of k.problems) process.stdout.write(`  ${p}\n`);
  failed += k.problems.length;
}
if (failed) process.stdout.write(`\n${failed} failures; the failing files are in ${values.out}/\n`);
process.exit(failed ? 1 : 0);
