// Builds the AssemblyScript kernels (asconfig.json's targets), passing on everything asc prints
// except Binaryen's "Last converge was suboptimal.", a note about its optimiser's own fixpoint that
// every build prints and no one can act on.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const asc = createRequire(import.meta.url).resolve('assemblyscript/bin/asc.js');
const builds = [
  ['assembly/index.ts', 'simd128'],
  ['assembly/index.ts', 'relaxed'],
  ['assembly/ladder.ts', 'ladder-simd128'],
  ['assembly/ladder.ts', 'ladder-relaxed'],
];
for (const [entry, target] of builds) {
  const r = spawnSync(process.execPath, [asc, entry, '--target', target], { encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr.replace(/^Last converge was suboptimal\.\n?/gm, ''));
  if (r.status !== 0) process.exit(r.status ?? 1);
}
