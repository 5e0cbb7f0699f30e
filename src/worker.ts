// Worker threads whose script sits next to the module that starts them. From dist/ the script is
// plain JavaScript; from the TypeScript sources (tests, tsx) the worker registers tsx first.
import { Worker } from 'node:worker_threads';

/** `name` without extension, resolved against `base` (the caller's import.meta.url). */
export function startWorker(base: string, name: string, workerData: unknown): Worker {
  const fromSource = base.endsWith('.ts');
  const script = new URL(`${name}${fromSource ? '.ts' : '.js'}`, base);
  if (!fromSource) return new Worker(script, { workerData });
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}
