// The build's last step: tsc does not copy the WGSL kernels, which the WebGPU backend reads beside its own module.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const from = new URL('../src/backends/webgpu/', import.meta.url);
const to = new URL('../dist/backends/webgpu/', import.meta.url);
mkdirSync(to, { recursive: true });
for (const file of readdirSync(from).filter((f) => f.endsWith('.wgsl'))) copyFileSync(new URL(file, from), new URL(file, to));
