// Point at one output unit of a layer and see where it looks and how its number is made, as CNN
// Explainer does, for AlexNet's real ops: its window on the layer before and its receptive field on
// the image (receptiveField), and its value recomputed in float64 from the layer's input and
// parameters with the real numbers in the layer's formula (explainUnit). Pure data, no DOM: the
// notebook page draws it.
//
// Index conventions: a map unit is (channel, i, j) of a [C, H, W] output; a flat [F] output is
// treated as [F, 1, 1], so feature k is (k, 0, 0). Spans are half-open [start, end), as the
// reference kernels write windows; the text for people writes ranges inclusively (4..6).
import { ShapeError, WeightsError } from '../errors.js';
import type { Graph, GraphNode, OpOf } from '../graph/index.js';
import { windowOf } from '../graph/index.js';
import type { Weights } from '../runtime/index.js';
import type { Shape, Tensor } from '../tensor.js';
import { sameShape, shapeToString } from '../tensor.js';

/** Positions [start, end) along one axis; empty when end <= start. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A box of a node's output: channels x rows x cols ([F] outputs as [F, 1, 1]). */
interface Region {
  readonly channels: Span;
  readonly rows: Span;
  readonly cols: Span;
}

/** What one unit reads on the node before it. */
export interface LayerWindow {
  /** the node read (for a concat: the first input it reads) */
  readonly node: string;
  /** the input channels read: a grouped conv's output reads its group's channels, LRN its neighbours */
  readonly channels: Span;
  /** the window as the op places it, before clipping: may start below 0 or end past the input (padding, a ceil-mode overhang) */
  readonly rows: Span;
  readonly cols: Span;
  /** the same, clipped to the input: the positions whose values it reads */
  readonly clippedRows: Span;
  readonly clippedCols: Span;
  /** how many of the window's rows (top, bottom) and columns (left, right) lie outside the input */
  readonly padding: { readonly top: number; readonly left: number; readonly bottom: number; readonly right: number };
}

export interface ReceptiveField {
  readonly layer: string;
  readonly window: LayerWindow;
  /** where the unit looks on the network's input node */
  readonly field: {
    readonly node: string;
    readonly channels: Span;
    /**
     * The bounding box of the input pixels the unit depends on: clipped at every step to each
     * node's extent (padding holds no input, and a floor-mode window drops a map's last rows). A
     * stride larger than its kernel leaves gaps inside the box. Empty when the unit reads padding only.
     */
    readonly rows: Span;
    readonly cols: Span;
    /** The textbook field, never clipped: size r_out = r_in + (k − 1)·j_in, spacing j_out = j_in·s. */
    readonly unclippedRows: Span;
    readonly unclippedCols: Span;
  };
}

const span = (start: number, end: number): Span => ({ start, end });
const EMPTY = span(0, 0);
const isEmpty = (s: Span): boolean => s.end <= s.start;
const clip = (s: Span, size: number): Span => {
  const c = span(Math.max(0, s.start), Math.min(size, s.end));
  return isEmpty(c) ? EMPTY : c;
};
const hull = (a: Span, b: Span): Span => (isEmpty(a) ? b : isEmpty(b) ? a : span(Math.min(a.start, b.start), Math.max(a.end, b.end)));
const emptyRegion = (r: Region): boolean => isEmpty(r.channels) || isEmpty(r.rows) || isEmpty(r.cols);

/** [C, H, W], with a flat [F] as [F, 1, 1]. */
const dims = (shape: Shape): [number, number, number] => (shape.length === 3 ? [shape[0], shape[1], shape[2]] : [shape[0], 1, 1]);

/** Output positions [a, b) of a window (kernel, stride, padding before) -> the input positions they cover, unclipped. */
const windowSpan = (s: Span, kernel: number, stride: number, before: number): Span => span(s.start * stride - before, (s.end - 1) * stride - before + kernel);

/**
 * The region of each input that a region of `node`'s output reads. With `clipped`, rows and columns
 * are cut to the input's extent (what is really read); without, windows are placed as the op places
 * them, padding and all (the textbook field).
 */
function stepBack(node: GraphNode, r: Region, clipped: boolean): { input: string; region: Region }[] {
  const { op } = node;
  const [c, h, w] = dims(node.inputShapes[0] ?? []);
  const fit = (rows: Span, cols: Span, channels: Span): Region => (clipped ? { channels, rows: clip(rows, h), cols: clip(cols, w) } : { channels, rows, cols });
  const one = (region: Region) => [{ input: node.inputs[0], region }];
  const whole: Region = { channels: span(0, c), rows: span(0, h), cols: span(0, w) };
  switch (op.type) {
    case 'input':
      return [];
    case 'relu':
    case 'dropout':
    case 'transfer':
      return one(r);
    case 'slice':
      return one({ ...r, channels: span(r.channels.start + op.from, r.channels.end + op.from) });
    case 'concat': {
      // each input holds a run of the output's channels, in order
      let offset = 0;
      return node.inputs.flatMap((input, k) => {
        const size = node.inputShapes[k][0];
        const channels = clip(span(r.channels.start - offset, r.channels.end - offset), size);
        offset += size;
        return isEmpty(channels) ? [] : [{ input, region: { ...r, channels } }];
      });
    }
    case 'lrn': {
      // the window of channel a runs from max(lo, a − n/2) to min(hi, a + n/2) inside a's group;
      // neighbouring channels' windows overlap or abut, so a run of channels reads one run
      const half = Math.floor(op.size / 2);
      const per = c / op.groups;
      const lo = Math.floor(r.channels.start / per) * per;
      const hi = (Math.floor((r.channels.end - 1) / per) + 1) * per;
      return one({ ...r, channels: span(Math.max(lo, r.channels.start - half), Math.min(hi, r.channels.end + half)) });
    }
    case 'conv2d': {
      // output channel o reads all cg input channels of its group g = floor(o / og)
      const win = windowOf(op);
      const [og, cg] = [op.out / op.groups, c / op.groups];
      const channels = span(Math.floor(r.channels.start / og) * cg, (Math.floor((r.channels.end - 1) / og) + 1) * cg);
      return one(fit(windowSpan(r.rows, win.kh, win.sh, win.top), windowSpan(r.cols, win.kw, win.sw, win.left), channels));
    }
    case 'maxpool2d':
    case 'avgpool2d': {
      const win = windowOf(op);
      return one(fit(windowSpan(r.rows, win.kh, win.sh, win.top), windowSpan(r.cols, win.kw, win.sw, win.left), r.channels));
    }
    case 'adaptiveavgpool2d': {
      // PyTorch's bins: output o reads [floor(o·in/out), ceil((o+1)·in/out)); consecutive bins touch
      const bins = (s: Span, size: number): Span => span(Math.floor((s.start * size) / op.out), Math.ceil((s.end * size) / op.out));
      return one(fit(bins(r.rows, h), bins(r.cols, w), r.channels));
    }
    case 'flatten': {
      // feature f is x[f / HW, (f % HW) / W, f % W]: one feature reads one value; a run, the box around its values
      const hw = h * w;
      const [a, b] = [r.channels.start, r.channels.end];
      if (b - a >= hw) return one({ channels: span(Math.floor(a / hw), Math.floor((b - 1) / hw) + 1), rows: span(0, h), cols: span(0, w) });
      let box: Region = { channels: EMPTY, rows: EMPTY, cols: EMPTY };
      for (let f = a; f < b; f++) {
        const [ci, y, x] = [Math.floor(f / hw), Math.floor((f % hw) / w), f % w];
        box = { channels: hull(box.channels, span(ci, ci + 1)), rows: hull(box.rows, span(y, y + 1)), cols: hull(box.cols, span(x, x + 1)) };
      }
      return one(box);
    }
    case 'linear':
    case 'softmax':
      return one(whole); // every output reads every input
    default:
      return op satisfies never;
  }
}

/** Walks back from `layer` to the graph's input node, merging what every node reads into one box per node. */
function fieldOnInput(graph: Graph, layer: GraphNode, start: Region, clipped: boolean): Region {
  const boxes = new Map<string, Region>([[layer.name, start]]);
  const nodes = graph.nodes;
  for (let k = nodes.indexOf(layer); k >= 0; k--) {
    const node = nodes[k];
    const r = boxes.get(node.name);
    if (!r || node.op.type === 'input' || emptyRegion(r)) continue;
    for (const { input, region } of stepBack(node, r, clipped)) {
      if (emptyRegion(region)) continue;
      const old = boxes.get(input);
      boxes.set(input, old ? { channels: hull(old.channels, region.channels), rows: hull(old.rows, region.rows), cols: hull(old.cols, region.cols) } : region);
    }
  }
  return boxes.get(graph.input.name) ?? { channels: EMPTY, rows: EMPTY, cols: EMPTY };
}

/** The layer's node and the region of one unit (or, without a channel, of that position in every channel). */
function unitRegion(graph: Graph, layer: string, channel: number | undefined, i: number, j: number): { node: GraphNode; region: Region } {
  const node = graph.node(layer);
  const [c, h, w] = dims(node.shape);
  const ok = (v: number, size: number): boolean => Number.isSafeInteger(v) && v >= 0 && v < size;
  if (!ok(i, h) || !ok(j, w) || (channel !== undefined && !ok(channel, c))) {
    const flat = node.shape.length === 1;
    throw new ShapeError('NO_SUCH_UNIT', `layer "${layer}" has output ${shapeToString(node.shape)}; ${flat ? `feature ${channel} (i = ${i}, j = ${j}) is not in it: features are (k, 0, 0)` : `unit (${channel ?? 'any channel'}, ${i}, ${j}) is not in it`}`);
  }
  const channels = channel === undefined ? span(0, c) : span(channel, channel + 1);
  return { node, region: { channels, rows: span(i, i + 1), cols: span(j, j + 1) } };
}

/** The window of one unit on the node before it: placed as the op places it, and clipped. */
function layerWindow(node: GraphNode, region: Region): LayerWindow {
  if (node.op.type === 'input') throw new ShapeError('NO_SUCH_UNIT', `"${node.name}" is the input node: it reads nothing`);
  const [first] = stepBack(node, region, false);
  const k = node.inputs.indexOf(first.input);
  const [, h, w] = dims(node.inputShapes[k]);
  const { channels, rows, cols } = first.region;
  const outside = (s: Span, size: number): [number, number] => [Math.min(s.end - s.start, Math.max(0, -s.start)), Math.min(s.end - s.start, Math.max(0, s.end - size))];
  const [top, bottom] = outside(rows, h);
  const [left, right] = outside(cols, w);
  return { node: first.input, channels, rows, cols, clippedRows: clip(rows, h), clippedCols: clip(cols, w), padding: { top, left, bottom, right } };
}

/**
 * Where the unit at row i, column j of `layer`'s output looks: its window on the node before and its
 * field on the network's input. `channel` narrows the channels read (a grouped conv's output channel
 * reads only its group's); without it, every output channel at (i, j). Flat layers: (0, 0, k).
 * Throws ShapeError NO_SUCH_UNIT for a unit outside the output or for the input node; a graph with several input nodes
 * (a device's part of a partition) has no single field: GraphError INPUT_COUNT.
 */
export function receptiveField(graph: Graph, layer: string, i: number, j: number, channel?: number): ReceptiveField {
  const { node, region } = unitRegion(graph, layer, channel, i, j);
  const clipped = fieldOnInput(graph, node, region, true);
  const placed = fieldOnInput(graph, node, region, false);
  return {
    layer,
    window: layerWindow(node, region),
    field: { node: graph.input.name, channels: clipped.channels, rows: clipped.rows, cols: clipped.cols, unclippedRows: placed.rows, unclippedCols: placed.cols },
  };
}

// ---- explaining a unit's value ----------------------------------------------------------------

/** One term w·x of a conv's sum: w[o, weightChannel, u, v] · x[channel, row, col]. */
export interface ConvTerm {
  /** the input channel (x's index); the weight's channel index is channel − the group's first channel */
  readonly channel: number;
  readonly weightChannel: number;
  readonly u: number;
  readonly v: number;
  readonly row: number;
  readonly col: number;
  readonly w: number;
  readonly x: number;
  readonly wx: number;
}

/** One term w[o, index] · x[index] of a linear layer's sum. */
export interface LinearTerm {
  readonly index: number;
  readonly w: number;
  readonly x: number;
  readonly wx: number;
}

/** One input value a pool's window holds. */
export interface PoolValue {
  readonly row: number;
  readonly col: number;
  readonly x: number;
}

/** What every explanation holds. */
export interface ExplanationBase {
  readonly layer: string;
  /** the unit: (channel, i, j); a flat layer's feature k is (k, 0, 0) */
  readonly channel: number;
  readonly i: number;
  readonly j: number;
  /** the unit's value, recomputed in float64 from the input and the parameters */
  readonly value: number;
  /** one line: the layer's formula with this unit's numbers (4 significant digits), ending ` = <value>` */
  readonly text: string;
  /** with options.output: the backend's number at this unit and |it − value| / max(|value|, 1e-6) */
  readonly backend?: { readonly value: number; readonly error: number };
}

export interface ConvExplanation extends ExplanationBase {
  readonly op: 'conv2d';
  readonly window: LayerWindow;
  readonly bias: number;
  /** products w·x of values inside the input */
  readonly terms: number;
  /** kernel taps that fall in the zero padding (left out of the sum) */
  readonly paddingTaps: number;
  /** Σ w·x, without the bias */
  readonly sum: number;
  /** the products of largest |w·x|, largest first */
  readonly largest: readonly ConvTerm[];
}

export interface LinearExplanation extends ExplanationBase {
  readonly op: 'linear';
  readonly bias: number;
  readonly terms: number;
  readonly sum: number;
  readonly largest: readonly LinearTerm[];
}

export interface MaxPoolExplanation extends ExplanationBase {
  readonly op: 'maxpool2d';
  readonly window: LayerWindow;
  /** the window's values inside the input, row-major (padding never wins) */
  readonly values: readonly PoolValue[];
  /** the first value equal to the max, row-major */
  readonly argmax: PoolValue;
}

export interface AvgPoolExplanation extends ExplanationBase {
  readonly op: 'avgpool2d' | 'adaptiveavgpool2d';
  readonly window: LayerWindow;
  readonly values: readonly PoolValue[];
  readonly sum: number;
  /** the divisor: the values held, or with count_include_pad the window's size within the padded input */
  readonly count: number;
}

export interface LrnExplanation extends ExplanationBase {
  readonly op: 'lrn';
  /** a[c] at (i, j) */
  readonly a: number;
  /** the channels in c's window (within its group), with a[j] and a[j]² */
  readonly neighbours: readonly { readonly channel: number; readonly a: number; readonly square: number }[];
  readonly sumSquares: number;
  /** what multiplies Σa²: α/n or α, as the preset has it */
  readonly scale: number;
  /** (k + scale·Σa²)^β */
  readonly denominator: number;
}

export interface ReluExplanation extends ExplanationBase {
  readonly op: 'relu';
  readonly x: number;
}

export interface SoftmaxExplanation extends ExplanationBase {
  readonly op: 'softmax';
  readonly x: number;
  /** the largest logit, subtracted before exp so that exp stays finite (p is unchanged) */
  readonly max: number;
  /** exp(x[k] − max) */
  readonly exp: number;
  /** Σ_j exp(x[j] − max) */
  readonly sumExp: number;
}

export interface CopyExplanation extends ExplanationBase {
  readonly op: 'flatten' | 'dropout' | 'slice' | 'transfer';
  /** the input element copied, (channel, row, col); a flat input's feature k is (k, 0, 0) */
  readonly source: { readonly channel: number; readonly row: number; readonly col: number };
  readonly x: number;
}

/** Tell them apart by `op`. */
export type Explanation = ConvExplanation | LinearExplanation | MaxPoolExplanation | AvgPoolExplanation | LrnExplanation | ReluExplanation | SoftmaxExplanation | CopyExplanation;

export interface ExplainOptions {
  /** the layer's output for the same image ([C, H, W], [F], or with a batch of 1), to set the backend's number beside the recomputed one */
  readonly output?: Tensor;
  /** how many of the largest products to return for conv2d and linear; default 5 (the text shows 3) */
  readonly largest?: number;
}

/** 4 significant digits, no trailing zeros. */
const fmt = (v: number): string => String(Number(v.toPrecision(4)));
/** A preset's constant as formulaOf writes it (walkthrough.ts): 6 significant digits. */
const constant = (v: number): string => String(Number(v.toPrecision(6)));
/** An inclusive range for people: "4..6", or "5" for one position. */
const range = (s: Span): string => (s.end - s.start === 1 ? `${s.start}` : `${s.start}..${s.end - 1}`);

/** A tensor for one image: `shape`, or [1, ...shape]. */
function oneImage(t: Tensor, shape: Shape, what: string): Float32Array {
  const ok = sameShape(t.shape, shape) || (t.shape[0] === 1 && sameShape(t.shape.slice(1), shape));
  if (!ok) throw new ShapeError('INPUT', `${what} has shape ${shapeToString(t.shape)}; expected ${shapeToString(shape)} (one image)`);
  return t.data;
}

function param(weights: Weights, node: GraphNode, kind: 'weight' | 'bias'): Float32Array {
  const name = `${node.name}.${kind}`;
  const t = weights.get(name);
  const shape = node.params.find((p) => p.name === kind)!.shape;
  if (!t) throw new WeightsError('MISSING', `no parameter "${name}" in the weights`);
  if (!sameShape(t.shape, shape)) throw new WeightsError('SHAPE', `"${name}" has shape ${shapeToString(t.shape)}; the layer needs ${shapeToString(shape)}`);
  return t.data;
}

/** Keeps the n terms of largest |w·x|, largest first (ties: the earlier term). */
function keepLargest<T extends { readonly wx: number }>(kept: T[], term: T, n: number): void {
  if (n <= 0 || (kept.length === n && Math.abs(term.wx) <= Math.abs(kept[n - 1].wx))) return;
  let at = kept.length;
  while (at > 0 && Math.abs(kept[at - 1].wx) < Math.abs(term.wx)) at--;
  kept.splice(at, 0, term);
  if (kept.length > n) kept.pop();
}

/** The values a pool's window holds, row-major over its clipped rows and columns. */
function poolValues(x: Float32Array, [, h, w]: [number, number, number], channel: number, window: LayerWindow): PoolValue[] {
  const values: PoolValue[] = [];
  for (let row = window.clippedRows.start; row < window.clippedRows.end; row++) {
    for (let col = window.clippedCols.start; col < window.clippedCols.end; col++) values.push({ row, col, x: x[(channel * h + row) * w + col] });
  }
  return values;
}

/**
 * How the value of unit (channel, i, j) of `layer` is made, recomputed in float64 from `input` (the
 * layer's input for one image: the output of graph.node(layer).inputs[0], e.g. layerInput() below)
 * and the layer's parameters in `weights` (`conv1.weight`, `conv1.bias`, … as the runtime keeps
 * them). Sums run in the reference kernels' order, so Math.fround(value) is the reference backend's
 * output. Flat layers take (k) or (k, 0, 0). Throws ShapeError (INPUT, NO_SUCH_UNIT) or
 * WeightsError (MISSING, SHAPE); a concat (several inputs) or the input node: ShapeError NOT_ONE_INPUT.
 */
export function explainUnit(graph: Graph, weights: Weights, layer: string, input: Tensor, channel: number, i = 0, j = 0, options: ExplainOptions = {}): Explanation {
  const { node, region } = unitRegion(graph, layer, channel, i, j);
  if (node.inputs.length !== 1) throw new ShapeError('NOT_ONE_INPUT', `"${layer}" (${node.op.type}) reads ${node.inputs.length} inputs; explainUnit explains ops with one`);
  const inShape = node.inputShapes[0];
  const x = oneImage(input, inShape, `the input of "${layer}"`);
  const body = explain(weights, node, x, dims(inShape), region, channel, i, j, options.largest ?? 5);
  const common = { layer, channel, i, j };
  if (!options.output) return { ...common, ...body } as Explanation;
  const out = oneImage(options.output, node.shape, `the output of "${layer}"`);
  const [, h, w] = dims(node.shape);
  const actual = out[(channel * h + i) * w + j];
  return { ...common, ...body, backend: { value: actual, error: Math.abs(actual - body.value) / Math.max(Math.abs(body.value), 1e-6) } } as Explanation;
}

/** An explanation without the fields explainUnit adds. */
type Without<E, K extends PropertyKey> = E extends unknown ? Omit<E, K> : never; // Omit of each member, not of the union
type Body = Without<Explanation, 'layer' | 'channel' | 'i' | 'j' | 'backend'>;

function explain(weights: Weights, node: GraphNode, x: Float32Array, inDims: [number, number, number], region: Region, o: number, i: number, j: number, largest: number): Body {
  const [c, h, w] = inDims;
  const at = (ch: number, row: number, col: number): number => x[(ch * h + row) * w + col];
  const map = node.shape.length === 3;
  const unit = (letter: string): string => (map ? `[${letter}=${o}, i=${i}, j=${j}]` : `[${letter}=${o}]`);
  const { op } = node;
  switch (op.type) {
    case 'conv2d': {
      const window = layerWindow(node, region);
      const wt = param(weights, node, 'weight');
      const bias = param(weights, node, 'bias')[o];
      const { kh, kw } = windowOf(op);
      const cg = c / op.groups;
      const c0 = window.channels.start;
      const kept: ConvTerm[] = [];
      let [sum, terms] = [0, 0];
      // the reference's order: channel, kernel row, kernel column, skipping the zero padding
      for (let ci = 0; ci < cg; ci++) {
        for (let u = 0; u < kh; u++) {
          const row = window.rows.start + u;
          if (row < 0 || row >= h) continue;
          for (let v = 0; v < kw; v++) {
            const col = window.cols.start + v;
            if (col < 0 || col >= w) continue;
            const term = { channel: c0 + ci, weightChannel: ci, u, v, row, col, w: wt[((o * cg + ci) * kh + u) * kw + v], x: at(c0 + ci, row, col), wx: 0 };
            term.wx = term.w * term.x;
            sum += term.wx;
            terms++;
            keepLargest(kept, term, largest);
          }
        }
      }
      const value = sum + bias;
      const shown = kept.slice(0, 3).map((t) => `w[${o},${t.weightChannel},${t.u},${t.v}]·x[${t.channel},${t.row},${t.col}] = ${fmt(t.w)}·${fmt(t.x)} = ${fmt(t.wx)}`);
      const padded = cg * kh * kw - terms;
      const more = terms > shown.length ? ', …' : '';
      const text = `y${unit('o')} = b ${fmt(bias)} + Σ of ${terms} products w·x${padded ? ` (${padded} taps in the zero padding left out)` : ''}${shown.length ? ` (largest: ${shown.join(', ')}${more})` : ''} = ${fmt(value)}`;
      return { op: 'conv2d', window, bias, terms, paddingTaps: padded, sum, largest: kept, value, text };
    }
    case 'linear': {
      const wt = param(weights, node, 'weight');
      const bias = param(weights, node, 'bias')[o];
      const f = c;
      const kept: LinearTerm[] = [];
      let sum = 0;
      for (let k = 0; k < f; k++) {
        const term = { index: k, w: wt[o * f + k], x: x[k], wx: wt[o * f + k] * x[k] };
        sum += term.wx;
        keepLargest(kept, term, largest);
      }
      const value = sum + bias;
      const shown = kept.slice(0, 3).map((t) => `w[${o},${t.index}]·x[${t.index}] = ${fmt(t.w)}·${fmt(t.x)} = ${fmt(t.wx)}`);
      const text = `y${unit('o')} = b ${fmt(bias)} + Σ of ${f} products w·x${shown.length ? ` (largest: ${shown.join(', ')}${f > shown.length ? ', …' : ''})` : ''} = ${fmt(value)}`;
      return { op: 'linear', bias, terms: f, sum, largest: kept, value, text };
    }
    case 'maxpool2d': {
      const window = layerWindow(node, region);
      const values = poolValues(x, inDims, o, window);
      // Math.max over the values, as the reference does; the first position holding it
      const value = Math.max(...values.map((p) => p.x));
      const argmax = values.find((p) => p.x === value) ?? values[0];
      const text = `y${unit('c')} = max of ${values.length} values x[${o}, ${range(window.clippedRows)}, ${range(window.clippedCols)}], largest at x[${o}, ${argmax.row}, ${argmax.col}] = ${fmt(value)}`;
      return { op: 'maxpool2d', window, values, argmax, value, text };
    }
    case 'avgpool2d':
    case 'adaptiveavgpool2d': {
      const window = layerWindow(node, region);
      const values = poolValues(x, inDims, o, window);
      const sum = values.reduce((s, p) => s + p.x, 0);
      const count = op.type === 'avgpool2d' && op.countIncludePad ? includedPad(op, window, h, w) : values.length;
      const value = sum / count;
      const note = count !== values.length ? ` (${count} positions counted, ${count - values.length} of them padding)` : '';
      const text = `y${unit('c')} = mean of x[${o}, ${range(window.clippedRows)}, ${range(window.clippedCols)}] = ${fmt(sum)} / ${count}${note} = ${fmt(value)}`;
      return { op: op.type, window, values, sum, count, value, text };
    }
    case 'lrn': {
      const half = Math.floor(op.size / 2);
      const per = c / op.groups;
      const lo = Math.floor(o / per) * per;
      const [first, last] = [Math.max(lo, o - half), Math.min(lo + per - 1, o + half)];
      const neighbours: { channel: number; a: number; square: number }[] = [];
      let sumSquares = 0;
      for (let ch = first; ch <= last; ch++) {
        const a = at(ch, i, j);
        neighbours.push({ channel: ch, a, square: a * a });
        sumSquares += a * a;
      }
      const scale = op.alphaOverSize ? op.alpha / op.size : op.alpha;
      const denominator = Math.pow(op.k + scale * sumSquares, op.beta);
      const a = at(o, i, j);
      const value = a / denominator;
      const s = op.alphaOverSize ? `${constant(op.alpha)}/${op.size}` : constant(op.alpha);
      const text = `b${unit('c')} = a[c] / (${constant(op.k)} + ${s} · Σ_{j=${first}..${last}} a[j]²)^${constant(op.beta)} = ${fmt(a)} / (${constant(op.k)} + ${s} · ${fmt(sumSquares)})^${constant(op.beta)} = ${fmt(a)} / ${fmt(denominator)} = ${fmt(value)}`;
      return { op: 'lrn', a, neighbours, sumSquares, scale, denominator, value, text };
    }
    case 'relu': {
      const v = at(o, i, j);
      const value = v > 0 ? v : 0;
      return { op: 'relu', x: v, value, text: `y${unit('c')} = max(0, ${fmt(v)}) = ${fmt(value)}` };
    }
    case 'softmax': {
      let max = -Infinity;
      for (let k = 0; k < c; k++) max = Math.max(max, x[k]);
      let sumExp = 0;
      for (let k = 0; k < c; k++) sumExp += Math.exp(x[k] - max);
      const exp = Math.exp(x[o] - max);
      const value = exp / sumExp;
      const text = `p${unit('k')} = exp(x[k] − max x) / Σ_{j<${c}} exp(x[j] − max x) = exp(${fmt(x[o])} − ${fmt(max)}) / ${fmt(sumExp)} = ${fmt(exp)} / ${fmt(sumExp)} = ${fmt(value)}`;
      return { op: 'softmax', x: x[o], max, exp, sumExp, value, text };
    }
    case 'flatten':
    case 'dropout':
    case 'slice':
    case 'transfer': {
      // a copy: find the element it copies
      let source = { channel: o, row: i, col: j };
      if (op.type === 'slice') source = { ...source, channel: o + op.from };
      if (op.type === 'flatten') source = { channel: Math.floor(o / (h * w)), row: Math.floor((o % (h * w)) / w), col: o % w };
      const v = at(source.channel, source.row, source.col);
      const from = node.inputShapes[0].length === 1 ? `x[${source.channel}]` : `x[${source.channel}, ${source.row}, ${source.col}]`;
      const why = op.type === 'dropout' ? ' (dropout is the identity at inference)' : op.type === 'flatten' ? ' (C, H, W order)' : '';
      return { op: op.type, source, x: v, value: v, text: `y${unit(map ? 'c' : 'k')} = ${from}${why} = ${fmt(v)}` };
    }
    case 'input':
    case 'concat':
      throw new ShapeError('NOT_ONE_INPUT', `"${node.name}" (${op.type}) is not explained unit by unit`);
    default:
      return op satisfies never;
  }
}

/** count_include_pad's divisor: the window within the padded input; a ceil-mode overhang past the padding is never counted (PyTorch). */
function includedPad(op: OpOf<'avgpool2d'>, window: LayerWindow, h: number, w: number): number {
  const { top, left, bottom, right } = windowOf(op);
  const within = (s: Span, before: number, after: number, size: number): number => Math.min(s.end, size + after) - Math.max(s.start, -before);
  return within(window.rows, top, bottom, h) * within(window.cols, left, right, w);
}

/**
 * The input explainUnit needs for `layer`: the output of the node it reads, from the step-through's
 * cells (LayerCell[], walkthrough.ts), or `networkInput` (the preprocessed crop, [C, H, W] or [1, C, H, W]) for the first layer.
 */
export function layerInput(graph: Graph, cells: readonly { readonly name: string; readonly output: Tensor }[], layer: string, networkInput: Tensor): Tensor {
  const source = graph.node(layer).inputs[0];
  if (source === undefined) throw new ShapeError('NOT_ONE_INPUT', `"${layer}" is the input node: it reads nothing`);
  if (graph.node(source).op.type === 'input') return networkInput;
  const cell = cells.find((c) => c.name === source);
  if (!cell) throw new ShapeError('INPUT', `the cells hold no output for "${source}", which "${layer}" reads`);
  return cell.output;
}
