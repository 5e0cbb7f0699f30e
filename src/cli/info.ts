// `alexnet info`: the model layer by layer (shapes, parameters, MACs, what each op does), and with
// --devices, where each layer runs and what crosses devices per image.
import { Command } from 'commander';
import type { Graph } from '../graph/index.js';
import { partition } from '../partition/index.js';
import type { Partitioned } from '../partition/index.js';
import { shapeToString } from '../tensor.js';
import { addModelOptions, buildModel, devicesOption } from './options.js';
import type { ModelOptions } from './options.js';

interface InfoOptions extends ModelOptions {
  devices: number;
  json?: boolean;
}

const thousands = (n: number): string => n.toLocaleString('en-US');

export function infoCommand(): Command {
  return addModelOptions(new Command('info').description('print the model layer by layer: output shape, parameters, MACs, and with --devices the placement and the bytes moved'), { help: 'paper', fallback: 'paper' })
    .addOption(devicesOption())
    .option('--json', 'machine-readable output')
    .action((o: InfoOptions) => {
      const graph = buildModel(o);
      const split = o.devices > 1 ? partition(graph, { devices: o.devices }) : undefined;
      process.stdout.write(o.json ? `${JSON.stringify(infoJson(o, graph, split), null, 2)}\n` : infoTable(o, graph, split));
    });
}

function infoJson(o: InfoOptions, graph: Graph, split: Partitioned | undefined) {
  const moved = (layer: string) => split?.transfers.filter((t) => t.layer === layer) ?? [];
  return {
    arch: o.arch,
    input: graph.input.shape,
    params: graph.paramCount(),
    macs: graph.macs(),
    devices: o.devices,
    ...(split ? { transfer_bytes_per_image: split.transfers.reduce((s, t) => s + t.bytesPerSample, 0) } : {}),
    layers: graph.nodes.map((n) => ({
      name: n.name,
      op: n.op.type,
      attributes: n.op,
      shape: n.shape,
      params: n.paramCount,
      macs: n.macs,
      description: n.description,
      ...(split
        ? {
            placement: placementOf(split, n.name),
            // what this layer receives from other devices, per image
            receives: moved(n.name).map((t) => ({ from: t.from, to: t.to, bytes: t.bytesPerSample, reason: t.reason })),
          }
        : {}),
    })),
  };
}

/** "d0 d1" for a layer split over devices (each holds 1/N), "d1" for a whole one. */
function placementOf(split: Partitioned, layer: string): string {
  const p = split.layers.get(layer)!;
  return p.kind === 'whole' ? `d${p.device}` : p.nodes.map((_, d) => `d${d}`).join(' ');
}

function infoTable(o: InfoOptions, graph: Graph, split: Partitioned | undefined): string {
  const { layers, params, macs } = infoJson(o, graph, split);
  const received = (l: (typeof layers)[number]): string => {
    const r = 'receives' in l ? (l.receives ?? []) : [];
    if (!r.length) return '';
    const bytes = r.reduce((s, t) => s + t.bytes, 0);
    return `${thousands(bytes)} (${[...new Set(r.map((t) => t.reason))].join(', ')})`;
  };
  const header = ['layer', 'op', 'output', 'params', 'MACs', ...(split ? ['devices', 'bytes in / image'] : []), 'what it does'];
  const total = split ? split.transfers.reduce((s, t) => s + t.bytesPerSample, 0) : 0;
  const rows = [
    header,
    ...layers.map((l) => [l.name, l.op, shapeToString(l.shape), thousands(l.params), thousands(l.macs), ...(split ? ['placement' in l ? String(l.placement) : '', received(l)] : []), l.description]),
    ['total', '', '', thousands(params), thousands(macs), ...(split ? ['', thousands(total)] : []), `${((2 * macs) / 1e9).toFixed(2)} GFLOP per image`],
  ];
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const numeric = new Set([3, 4, ...(split ? [6] : [])]);
  const line = (r: string[]): string =>
    r.map((cell, c) => (c === r.length - 1 ? cell : numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  const where = split ? ` over ${o.devices} devices (each layer's channels split evenly; "bytes in" is what the layer receives from other devices)` : '';
  return `AlexNet "${o.arch}", input ${shapeToString(graph.input.shape)} per image${where}\n\n${rows.map(line).join('\n')}\n`;
}
