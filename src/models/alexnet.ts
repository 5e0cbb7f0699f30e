// The AlexNet presets of the design card, as op graphs with Caffe's layer names.
//   paper       the 2012 two-GPU network: conv2/4/5 in 2 groups, LRN per tower (k=2, alpha not / n)
//   bvlc        Caffe's bvlc_alexnet: same convs, LRN across all maps (k=1, alpha / n)
//   torchvision torchvision's AlexNet: no groups, no LRN, 224 input, conv1 padded, adaptive pool
//   mini        the paper's topology sized for 28x28 grey images (Fashion-MNIST): see MINI below
import { GraphError } from '../errors.js';
import { Graph } from '../graph/index.js';
import type { NodeSpec, Op } from '../graph/index.js';

export const PRESETS = ['paper', 'bvlc', 'torchvision', 'mini'] as const;
export type Preset = (typeof PRESETS)[number];

export interface AlexNetConfig {
  readonly preset: Preset;
  /** Scales every conv channel count and the hidden FC sizes (see scaleChannels). Default 1. */
  readonly width?: number;
  /** fc8's outputs. Default 1000 (mini: 10). */
  readonly classes?: number;
  /** Side of the square input. Default 227 (paper, bvlc) or 224 (torchvision). */
  readonly inputSize?: number;
  /** Input channels. Default 3. */
  readonly inChannels?: number;
}

/** max(2, 2*round(c*w/2)): even, so groups of 2 always divide it; at least one map per group. */
export function scaleChannels(c: number, width: number): number {
  return Math.max(2, 2 * Math.round((c * width) / 2));
}

const PAPER_CHANNELS = [96, 256, 384, 384, 256];
const TORCHVISION_CHANNELS = [64, 192, 384, 256, 256];
const HIDDEN = 4096;
// mini: five convs (groups 2 on conv2/4/5), LRN after the first two, overlapping 3/2 pools, three
// FC layers with dropout, as the paper; conv1 5x5 stride 1 (an 11x11/4 kernel would leave a 32x32
// input 6x6 at once). 32 → 15 → 7 → 3 through the pools, so fc6 sees 3x3 maps (a 28x28 input would
// leave 2x2), and ~1/100 of the paper's MACs.
const MINI_CHANNELS = [24, 48, 64, 64, 48];
const MINI_HIDDEN = 512;

function positiveInt(name: string, v: number): number {
  if (!(Number.isSafeInteger(v) && v > 0)) throw new GraphError('BAD_CONFIG', `${name} must be a positive integer, got ${v}`);
  return v;
}

export function alexnet(config: AlexNetConfig): Graph {
  const { preset } = config;
  if (!PRESETS.includes(preset)) throw new GraphError('BAD_CONFIG', `unknown preset "${preset}"; presets: ${PRESETS.join(', ')}`);
  const width = config.width ?? 1;
  if (!(Number.isFinite(width) && width > 0)) throw new GraphError('BAD_CONFIG', `width must be a positive number, got ${width}`);
  const classes = positiveInt('classes', config.classes ?? (preset === 'mini' ? 10 : 1000));
  const tv = preset === 'torchvision';
  const mini = preset === 'mini';
  const size = positiveInt('inputSize', config.inputSize ?? (tv ? 224 : mini ? 32 : 227));
  const inChannels = positiveInt('inChannels', config.inChannels ?? (mini ? 1 : 3));
  const [c1, c2, c3, c4, c5] = (tv ? TORCHVISION_CHANNELS : mini ? MINI_CHANNELS : PAPER_CHANNELS).map((c) => scaleChannels(c, width));
  const hidden = scaleChannels(mini ? MINI_HIDDEN : HIDDEN, width);
  const towers = tv ? 1 : 2;

  const conv = (out: number, kernel: number, stride: number, pad: number, groups: number): Op => ({ type: 'conv2d', out, kernel, stride, pad, groups });
  const relu: Op = { type: 'relu' };
  // Caffe rounds a pool's output size up (ceil mode); at 227 that changes nothing, at 224 it does
  const pool: Op = { type: 'maxpool2d', kernel: 3, stride: 2, ...(preset === 'bvlc' && { ceil: true }) };
  const dropout: Op = { type: 'dropout', p: 0.5 };
  const lrn: Op =
    preset === 'paper' || mini
      ? { type: 'lrn', size: 5, alpha: 1e-4, beta: 0.75, k: 2, alphaOverSize: false, groups: 2 }
      : { type: 'lrn', size: 5, alpha: 1e-4, beta: 0.75, k: 1, alphaOverSize: true, groups: 1 };
  const norm = (name: string): NodeSpec[] => (tv ? [] : [{ name, op: lrn }]);

  // Dropout N drops layer N's output, as in Caffe (drop6 follows relu6). torchvision drops fc6's
  // input and fc7's input, so its dropouts are drop5 (after pool5) and drop6; it has no drop7.
  const specs: NodeSpec[] = [
    { name: 'data', op: { type: 'input', shape: [inChannels, size, size] } },
    { name: 'conv1', op: mini ? conv(c1, 5, 1, 2, 1) : conv(c1, 11, 4, tv ? 2 : 0, 1) },
    { name: 'relu1', op: relu },
    ...norm('norm1'),
    { name: 'pool1', op: pool },
    { name: 'conv2', op: conv(c2, 5, 1, 2, towers) },
    { name: 'relu2', op: relu },
    ...norm('norm2'),
    { name: 'pool2', op: pool },
    { name: 'conv3', op: conv(c3, 3, 1, 1, 1) },
    { name: 'relu3', op: relu },
    { name: 'conv4', op: conv(c4, 3, 1, 1, towers) },
    { name: 'relu4', op: relu },
    { name: 'conv5', op: conv(c5, 3, 1, 1, towers) },
    { name: 'relu5', op: relu },
    { name: 'pool5', op: pool },
    ...(tv ? [{ name: 'avgpool', op: { type: 'adaptiveavgpool2d', out: 6 } as Op }] : []),
    { name: 'flatten', op: { type: 'flatten' } },
    ...(tv ? [{ name: 'drop5', op: dropout }] : []),
    { name: 'fc6', op: { type: 'linear', out: hidden } },
    { name: 'relu6', op: relu },
    { name: 'drop6', op: dropout },
    { name: 'fc7', op: { type: 'linear', out: hidden } },
    { name: 'relu7', op: relu },
    ...(tv ? [] : [{ name: 'drop7', op: dropout }]),
    { name: 'fc8', op: { type: 'linear', out: classes } },
    { name: 'prob', op: { type: 'softmax' } },
  ];
  return new Graph(specs);
}
