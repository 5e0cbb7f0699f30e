// Builds the AssemblyScript kernels (asconfig.json's targets) that are older than their sources,
// as make would, passing on everything asc prints except Binaryen's "Last converge was
// suboptimal.", a note about its optimiser's own fixpoint that every build prints and no one can
// act on. (Up to date matters: npx builds this package again the first time it runs its command.)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const asc = require.resolve('assemblyscript/bin/asc.js');
const root = new URL('../', import.meta.url);
const targets = JSON.parse(readFileSync(new URL('asconfig.json', root), 'utf8')).targets;
// every input: the sources, the targets' options, and the compiler itself
const inputs = [
  ...readdirSync(new URL('assembly/', root)).map((f) => new URL(`assembly/${f}`, root)),
  new URL('asconfig.json', root),
  new URL(require.resolve('assemblyscript/package.json'), root),
];
const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
const builds = [
  ['assembly/index.ts', 'simd128'],
  ['assembly/index.ts', 'relaxed'],
  ['assembly/ladder.ts', 'ladder-simd128'],
  ['assembly/ladder.ts', 'ladder-relaxed'],
];
for (const [entry, target] of builds) {
  const out = new URL(targets[target].outFile, root);
  if (existsSync(out) && statSync(out).mtimeMs >= newest) continue;
  const r = spawnSync(process.execPath, [asc, entry, '--target', target], { encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr.replace(/^Last converge was suboptimal\.\n?/gm, ''));
  if (r.status !== 0) process.exit(r.status ?? 1);
}
