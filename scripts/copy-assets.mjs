// The build's last step: tsc copies no other files, and these are read beside their own modules:
// the WGSL kernels of the WebGPU backend and the data files (class names) of src/data.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

for (const [dir, ext] of [['backends/webgpu/', '.wgsl'], ['data/', '.txt']]) {
  const from = new URL(`../src/${dir}`, import.meta.url);
  const to = new URL(`../dist/${dir}`, import.meta.url);
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from).filter((f) => f.endsWith(ext))) copyFileSync(new URL(file, from), new URL(file, to));
}
