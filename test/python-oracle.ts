// The reference implementations as oracles for the fuzz suites: NumPy's np.load for .npy, Pillow
// (libpng, libjpeg) for PNG and JPEG, run once over a folder of cases (test/oracles.py). They need
// Debian's python3-numpy and python3-pil; without them the suites say so and skip, except under CI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type OracleKind = 'npy' | 'image';
export type OracleVerdict =
  | { ok: false; error: string }
  | { ok: true; descr: string; fortran: boolean; shape: number[]; sha256: string }
  | { ok: true; format: string; width: number; height: number; rgb: string; damaged?: boolean };

/** Debian's interpreter: the one its python3-numpy and python3-pil packages install into. */
export const PYTHON = process.env.ALEXNET_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('oracles.py', import.meta.url));
const MODULES: Record<OracleKind, string> = { npy: 'numpy', image: 'PIL' };

/** Why the oracle cannot run here, or undefined when it can. */
export function oracleMissing(kind: OracleKind): string | undefined {
  const r = spawnSync(PYTHON, ['-c', `import ${MODULES[kind]}`], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} cannot import ${MODULES[kind]} (install Debian's python3-${kind === 'npy' ? 'numpy' : 'pil'})`;
}

/** The oracle's verdict on each file, in order; with `okOnly`, only whether it read each (no pixels or hashes). */
export function oracleVerdicts(kind: OracleKind, files: readonly Uint8Array[], { okOnly = false } = {}): OracleVerdict[] {
  if (!files.length) return [];
  const dir = mkdtempSync(path.join(tmpdir(), 'alexnet-oracle-'));
  try {
    const names = files.map((_, i) => `case-${String(i).padStart(6, '0')}`);
    files.forEach((bytes, i) => writeFileSync(path.join(dir, names[i]), bytes));
    const r = spawnSync(PYTHON, [SCRIPT, kind, dir, ...(okOnly ? ['ok-only'] : [])], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`${PYTHON} ${SCRIPT} failed: ${r.stderr}`);
    const verdicts = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as OracleVerdict & { file: string });
    return names.map((name, i) => {
      if (verdicts[i]?.file !== name) throw new Error(`the oracle answered for ${verdicts[i]?.file}, expected ${name}`);
      return verdicts[i];
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
