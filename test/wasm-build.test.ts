// The AssemblyScript build (run by `npm run build`) yields a valid module with the ABI the host expects.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('build/kernels.simd128.wasm validates and reports ABI version 1', async () => {
  const bytes = readFileSync(new URL('../build/kernels.simd128.wasm', import.meta.url));
  expect(WebAssembly.validate(bytes)).toBe(true);
  const { instance } = await WebAssembly.instantiate(bytes);
  expect((instance.exports.abiVersion as () => number)()).toBe(1);
});
