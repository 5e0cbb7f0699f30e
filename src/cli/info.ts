// `alexnet info`: the model layer by layer (shapes, parameters, MACs, what each op does).
import { Command } from 'commander';
import type { Graph } from '../graph/index.js';
import { shapeToString } from '../tensor.js';
import { addModelOptions, buildModel, checkDevices, devicesOption } from './options.js';
import type { ModelOptions } from './options.js';

interface InfoOptions extends ModelOptions {
  devices: number;
  json?: boolean;
}

const thousands = (n: number): string => n.toLocaleString('en-US');

export function infoCommand(): Command {
  return addModelOptions(new Command('info').description('print the model layer by layer: output shape, parameters, MACs'))
    .addOption(devicesOption())
    .option('--json', 'machine-readable output')
    .action((o: InfoOptions) => {
      checkDevices(o.devices);
      const graph = buildModel(o);
      process.stdout.write(o.json ? `${JSON.stringify(infoJson(o, graph), null, 2)}\n` : infoTable(o, graph));
    });
}

function infoJson(o: InfoOptions, graph: Graph) {
  return {
    arch: o.arch,
    input: graph.input.shape,
    params: graph.paramCount(),
    macs: graph.macs(),
    layers: graph.nodes.map((n) => ({
      name: n.name,
      op: n.op.type,
      attributes: n.op,
      shape: n.shape,
      params: n.paramCount,
      macs: n.macs,
      description: n.description,
    })),
  };
}

function infoTable(o: InfoOptions, graph: Graph): string {
  const { layers, params, macs } = infoJson(o, graph);
  const rows = [
    ['layer', 'op', 'output', 'params', 'MACs', 'what it does'],
    ...layers.map((l) => [l.name, l.op, shapeToString(l.shape), thousands(l.params), thousands(l.macs), l.description]),
    ['total', '', '', thousands(params), thousands(macs), `${(2 * macs / 1e9).toFixed(2)} GFLOP per image`],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const numeric = new Set([3, 4]);
  const line = (r: string[]): string =>
    r.map((cell, c) => (c === r.length - 1 ? cell : numeric.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  return `AlexNet "${o.arch}", input ${shapeToString(graph.input.shape)} per image\n\n${rows.map(line).join('\n')}\n`;
}
