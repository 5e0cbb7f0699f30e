// Prints the Markdown table of a bench/gpu/run.sh run: WebGPU against PyTorch fp32 on one GPU.
import { existsSync, readFileSync } from 'node:fs';

const dir = process.argv[2];
const webgpu = JSON.parse(readFileSync(`${dir}/webgpu.json`, 'utf8'));
const torch = existsSync(`${dir}/torch.json`) ? JSON.parse(readFileSync(`${dir}/torch.json`, 'utf8')) : { rows: [] };
const lines = [
  `WebGPU adapter: ${webgpu.adapter}. PyTorch: ${torch.device ?? 'not run'} ${torch.torch ?? ''}.`,
  '',
  '| system | preset | devices | batch | ms/image | images/s | vs PyTorch fp32 | error vs reference |',
  '|---|---|---|---|---|---|---|---|',
  ...webgpu.rows.map((r) => {
    const peer = torch.rows.find((t) => t.batch === r.batch);
    const vs = peer && r.preset === 'bvlc' ? `${(r.msPerImage / peer.msPerImage).toFixed(2)}x` : '';
    return `| webgpu | ${r.preset} | ${r.devices} | ${r.batch} | ${r.msPerImage.toFixed(3)} | ${(1000 / r.msPerImage).toFixed(1)} | ${vs} | ${r.error.toExponential(1)} |`;
  }),
  ...torch.rows.map((t) => `| ${t.system} | bvlc | 1 | ${t.batch} | ${t.msPerImage.toFixed(3)} | ${(1000 / t.msPerImage).toFixed(1)} | 1.00x | |`),
];
console.log(lines.join('\n'));
