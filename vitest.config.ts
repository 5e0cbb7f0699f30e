import { defineConfig } from 'vitest/config';

// Test processes run wasm as the CLI does: relaxed SIMD enabled (still behind a flag on Node 20, so
// that both kernel builds are tested) and no baseline tier, so every run uses optimised code.
const wasmFlags = ['--no-liftoff', ...(Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [])];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    execArgv: wasmFlags,
  },
});
