// Which preset an imported graph (an ONNX file's) is, if any: the one whose graph computes the same
// thing, layer for layer. Then the file runs as that preset (the two-device split, the notebook's
// cells and training apply) with the file's weights in the preset's names. Equal means the same
// ops with the same attributes and the same output shapes, after leaving out what computes nothing
// at inference (dropout, a 1x1 average pool of stride 1, an adaptive pool to the size it gets) and
// the final softmax; two pools are equal when their windows over the maps they get are (Caffe's
// ceil-mode pool and the zoo's floor-mode pool padded after are).
import type { Graph, GraphNode } from '../graph/index.js';
import { windowOf } from '../graph/index.js';
import { alexnet, PRESETS } from './alexnet.js';
import type { AlexNetConfig } from './alexnet.js';

export interface PresetMatch {
  readonly config: AlexNetConfig;
  /** the preset's node for each of the imported graph's conv and linear nodes, in order */
  readonly layers: ReadonlyMap<string, string>;
}

/** The preset `graph` is, with its weights' layer names mapped to the preset's; undefined when none is. */
export function matchPreset(graph: Graph): PresetMatch | undefined {
  const layers = graph.nodes.filter((n) => n.params.length > 0);
  const first = layers[0];
  const linears = layers.filter((n) => n.op.type === 'linear');
  const [c, h, w] = graph.input.shape;
  if (!first || first.op.type !== 'conv2d' || linears.length !== 3 || h !== w) return undefined;
  for (const preset of PRESETS) {
    const base = alexnet({ preset });
    const widths = new Set([first.shape[0] / base.node('conv1').shape[0], linears[1].shape[0] / base.node('fc7').shape[0]]);
    for (const width of widths) {
      const config: AlexNetConfig = { preset, width, classes: linears[2].shape[0], inChannels: c, inputSize: h };
      let candidate: Graph;
      try {
        candidate = alexnet(config);
      } catch {
        continue;
      }
      const ours = meaningful(candidate);
      const theirs = meaningful(graph);
      if (ours.length === theirs.length && ours.every((n, i) => same(n, theirs[i]))) {
        const presetLayers = candidate.nodes.filter((n) => n.params.length > 0);
        return { config, layers: new Map(layers.map((n, i) => [n.name, presetLayers[i].name])) };
      }
    }
  }
  return undefined;
}

/** The nodes that compute something at inference. */
function meaningful(graph: Graph): GraphNode[] {
  return graph.nodes.filter((n) => {
    const { op } = n;
    if (op.type === 'input' || op.type === 'dropout' || op.type === 'softmax') return false;
    const unchanged = n.shape.every((d, i) => d === n.inputShapes[0][i]);
    if (op.type === 'adaptiveavgpool2d') return !unchanged;
    if (op.type === 'avgpool2d') {
      const win = windowOf(op);
      return !(unchanged && win.kh === 1 && win.kw === 1 && win.sh === 1 && win.sw === 1 && win.top + win.left === 0);
    }
    return true;
  });
}

/** Two nodes compute the same: same op and output shape, equal attributes (floats to float32 precision). */
function same(a: GraphNode, b: GraphNode): boolean {
  if (a.op.type !== b.op.type || a.shape.join() !== b.shape.join() || a.inputShapes[0].join() !== b.inputShapes[0].join()) return false;
  const close = (x: number, y: number): boolean => Math.abs(x - y) <= 1e-6 * Math.max(Math.abs(x), Math.abs(y));
  const [p, q] = [a.op, b.op];
  switch (p.type) {
    case 'conv2d':
    case 'maxpool2d':
    case 'avgpool2d': {
      const [u, v] = [windowOf(p), windowOf(q as typeof p)];
      // with the same start, stride and size, the clipped windows are the same whatever pads the end
      const windows = u.kh === v.kh && u.kw === v.kw && u.sh === v.sh && u.sw === v.sw && u.top === v.top && u.left === v.left;
      if (p.type === 'conv2d') return windows && p.groups === (q as typeof p).groups && p.out === (q as typeof p).out;
      if (p.type === 'avgpool2d') return windows && u.bottom === v.bottom && u.right === v.right && !!p.countIncludePad === !!(q as typeof p).countIncludePad;
      return windows;
    }
    case 'lrn': {
      const r = q as typeof p;
      const scale = (o: typeof p): number => (o.alphaOverSize ? o.alpha / o.size : o.alpha);
      return p.size === r.size && p.groups === r.groups && close(scale(p), scale(r)) && close(p.beta, r.beta) && close(p.k, r.k);
    }
    case 'linear':
      return p.out === (q as typeof p).out;
    default:
      return true;
  }
}
