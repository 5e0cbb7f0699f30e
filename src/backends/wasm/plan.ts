// The activation arena, planned once per batch size from tensor lifetimes: every node output gets
// an offset, and two outputs share bytes only when their lifetimes (from the step that writes one
// to the last step that reads it) do not overlap. Flatten and dropout are views of their input;
// a ReLU that is its input's only reader works in place. Offsets are assigned largest first, each
// at the lowest address free for its whole lifetime.
import type { Graph } from '../../graph/index.js';
import { sizeOf } from '../../tensor.js';

export interface ArenaPlan {
  /** Node name -> byte offset of its output within the arena. */
  readonly offsets: ReadonlyMap<string, number>;
  readonly bytes: number;
}

interface Buffer {
  readonly bytes: number;
  first: number;
  last: number;
  offset: number;
}

const ALIGN = 64; // cache-line aligned: vector loads never split a line at a tensor's start

export function planArena(graph: Graph, batch: number): ArenaPlan {
  const readers = new Map<string, number>();
  for (const node of graph.nodes) for (const name of node.inputs) readers.set(name, (readers.get(name) ?? 0) + 1);
  const bufferOf = new Map<string, Buffer>();
  const buffers: Buffer[] = [];
  graph.nodes.forEach((node, step) => {
    for (const name of node.inputs) bufferOf.get(name)!.last = step;
    const t = node.op.type;
    const source = node.inputs[0];
    const view = t === 'flatten' || t === 'dropout' || (t === 'relu' && readers.get(source) === 1);
    if (view) {
      bufferOf.set(node.name, bufferOf.get(source)!);
    } else {
      const buffer = { bytes: Math.ceil((batch * sizeOf(node.shape) * 4) / ALIGN) * ALIGN, first: step, last: step, offset: 0 };
      buffers.push(buffer);
      bufferOf.set(node.name, buffer);
    }
  });
  bufferOf.get(graph.output.name)!.last = graph.nodes.length; // read back after the last step

  const placed: Buffer[] = [];
  let bytes = 0;
  for (const b of [...buffers].sort((x, y) => y.bytes - x.bytes || x.first - y.first)) {
    const overlapping = placed.filter((p) => p.first <= b.last && b.first <= p.last).sort((x, y) => x.offset - y.offset);
    let offset = 0;
    for (const p of overlapping) {
      if (offset + b.bytes <= p.offset) break;
      offset = Math.max(offset, p.offset + p.bytes);
    }
    b.offset = offset;
    placed.push(b);
    bytes = Math.max(bytes, offset + b.bytes);
  }
  return { offsets: new Map([...bufferOf].map(([name, b]) => [name, b.offset])), bytes };
}
