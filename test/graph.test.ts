// Shape inference, parameter counts and validation of the op graph and the AlexNet presets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GraphError } from '../src/errors.js';
import { Graph } from '../src/graph/index.js';
import type { NodeSpec } from '../src/graph/index.js';
import { alexnet, PRESETS, scaleChannels } from '../src/models/index.js';

const CAFFE_ORDER = 'conv1 relu1 norm1 pool1 conv2 relu2 norm2 pool2 conv3 relu3 conv4 relu4 conv5 relu5 pool5 fc6 relu6 drop6 fc7 relu7 drop7 fc8 prob'.split(' ');

describe('AlexNet presets', () => {
  it('have the published parameter counts', () => {
    expect(alexnet({ preset: 'paper' }).paramCount()).toBe(60_965_224);
    expect(alexnet({ preset: 'bvlc' }).paramCount()).toBe(60_965_224);
    expect(alexnet({ preset: 'torchvision' }).paramCount()).toBe(61_100_840);
  });

  it('have the paper\'s feature map sizes (55, 27, 13, 6) and conv/FC cost (665.8 M / 58.6 M MACs)', () => {
    const g = alexnet({ preset: 'paper' });
    const shapes = Object.fromEntries(g.nodes.map((n) => [n.name, n.shape]));
    expect(shapes.conv1).toEqual([96, 55, 55]);
    expect(shapes.pool1).toEqual([96, 27, 27]);
    expect(shapes.conv2).toEqual([256, 27, 27]);
    expect(shapes.pool2).toEqual([256, 13, 13]);
    expect(shapes.conv5).toEqual([256, 13, 13]);
    expect(shapes.pool5).toEqual([256, 6, 6]);
    expect(shapes.fc8).toEqual([1000]);
    const macsOf = (type: string): number => g.nodes.filter((n) => n.op.type === type).reduce((s, n) => s + n.macs, 0);
    expect(macsOf('conv2d') / 1e6).toBeCloseTo(665.8, 1);
    expect(macsOf('linear') / 1e6).toBeCloseTo(58.6, 1);
    const tv = alexnet({ preset: 'torchvision' });
    expect(tv.nodes.filter((n) => n.op.type === 'conv2d').reduce((s, n) => s + n.macs, 0) / 1e6).toBeCloseTo(655.6, 1);
    expect(tv.node('avgpool').shape).toEqual([256, 6, 6]);
  });

  it('use Caffe\'s layer names in Caffe\'s order, and the contract\'s groups and LRN', () => {
    for (const preset of PRESETS) {
      const names = alexnet({ preset }).nodes.map((n) => n.name);
      const caffe = names.filter((n) => CAFFE_ORDER.includes(n));
      expect(caffe).toEqual(CAFFE_ORDER.filter((n) => caffe.includes(n)));
    }
    const groupsOf = (preset: 'paper' | 'bvlc' | 'torchvision'): number[] =>
      alexnet({ preset }).nodes.flatMap((n) => (n.op.type === 'conv2d' ? [n.op.groups] : []));
    expect(groupsOf('paper')).toEqual([1, 2, 1, 2, 2]);
    expect(groupsOf('bvlc')).toEqual([1, 2, 1, 2, 2]);
    expect(groupsOf('torchvision')).toEqual([1, 1, 1, 1, 1]);
    expect(alexnet({ preset: 'paper' }).node('norm1').op).toMatchObject({ k: 2, size: 5, alpha: 1e-4, beta: 0.75, alphaOverSize: false, groups: 2 });
    expect(alexnet({ preset: 'bvlc' }).node('norm2').op).toMatchObject({ k: 1, size: 5, alpha: 1e-4, beta: 0.75, alphaOverSize: true, groups: 1 });
    expect(alexnet({ preset: 'torchvision' }).nodes.some((n) => n.op.type === 'lrn')).toBe(false);
  });

  it('count parameters by the closed form for any width, classes, input size and channels', () => {
    // spatial size after conv1 (11/4; mini 5/1 pad 2), pool, conv2 (same size), pool, conv3-5 (same),
    // pool; a 3x3/2 pool rounds down (PyTorch) or, in bvlc, up (Caffe's pooling)
    const pooling = (preset: string) => (s: number): number => (preset === 'bvlc' ? Math.ceil((s - 3) / 2) : Math.floor((s - 3) / 2)) + 1;
    fc.assert(
      fc.property(
        fc.constantFrom(...PRESETS),
        fc.double({ min: 0.01, max: 1.5, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 67, max: 260 }),
        fc.integer({ min: 1, max: 4 }),
        (preset, width, classes, size, inChannels) => {
          const tv = preset === 'torchvision';
          const mini = preset === 'mini';
          const [c1, c2, c3, c4, c5] = (tv ? [64, 192, 384, 256, 256] : mini ? [24, 48, 64, 64, 48] : [96, 256, 384, 384, 256]).map((c) => Math.max(2, 2 * Math.round((c * width) / 2)));
          const h = Math.max(2, 2 * Math.round(((mini ? 512 : 4096) * width) / 2));
          const g = tv ? 1 : 2;
          const pooled = pooling(preset);
          const s5 = tv ? 6 : pooled(pooled(pooled(mini ? size : Math.floor((size - 11) / 4) + 1)));
          const expected =
            c1 * inChannels * (mini ? 25 : 121) + c1 + c2 * (c1 / g) * 25 + c2 + c3 * c2 * 9 + c3 + c4 * (c3 / g) * 9 + c4 + c5 * (c4 / g) * 9 + c5 +
            h * c5 * s5 * s5 + h + h * h + h + classes * h + classes;
          const graph = alexnet({ preset, width, classes, inputSize: tv ? 224 : size, inChannels });
          expect(graph.paramCount()).toBe(expected);
          expect(graph.output.shape).toEqual([classes]);
        },
      ),
    );
  });

  it('scale channels to an even count, at least 2', () => {
    expect(scaleChannels(96, 0.125)).toBe(12);
    expect(scaleChannels(96, 0.001)).toBe(2);
    fc.assert(fc.property(fc.integer({ min: 1, max: 4096 }), fc.double({ min: 1e-3, max: 4, noNaN: true }), (c, w) => {
      const s = scaleChannels(c, w);
      expect(s % 2).toBe(0);
      expect(s).toBeGreaterThanOrEqual(2);
      expect(Math.abs(s - c * w)).toBeLessThanOrEqual(Math.max(1, 2 - c * w));
    }));
  });

  it('reject bad overrides and inputs too small for the network, naming the layer', () => {
    expect(() => alexnet({ preset: 'paper', width: 0 })).toThrow(/width/);
    expect(() => alexnet({ preset: 'paper', classes: 2.5 })).toThrow(/classes/);
    expect(() => alexnet({ preset: 'nope' as 'paper' })).toThrow(/unknown preset "nope"/);
    expect(() => alexnet({ preset: 'paper', inputSize: 40 })).toThrow(/node "pool\d" \(maxpool2d\).*input shape \[/);
  });
});

describe('graph validation', () => {
  const input: NodeSpec = { name: 'x', op: { type: 'input', shape: [6, 9, 9] } };
  const fails = (specs: NodeSpec[], code: string, message: RegExp): void => {
    let error: unknown;
    try {
      new Graph(specs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).code).toBe(code);
    expect((error as GraphError).message).toMatch(message);
  };

  it('names the node and the shapes that do not fit', () => {
    fails([input, { name: 'c', op: { type: 'conv2d', out: 4, kernel: 3, stride: 1, pad: 0, groups: 4 } }], 'SHAPE', /node "c" \(conv2d\): 6 input channels are not divisible by groups 4; input shape \[6, 9, 9\]/);
    fails([input, { name: 'fc', op: { type: 'linear', out: 3 } }], 'SHAPE', /node "fc" \(linear\).*add a flatten.*\[6, 9, 9\]/);
    fails([input, { name: 'c', op: { type: 'conv2d', out: 4, kernel: 11, stride: 1, pad: 0, groups: 1 } }], 'SHAPE', /node "c".*11-wide window does not fit in 9/);
    fails([input, { name: 'n', op: { type: 'lrn', size: 4, alpha: 1, beta: 1, k: 1, alphaOverSize: true, groups: 1 } }], 'SHAPE', /node "n" \(lrn\): size must be odd/);
    fails([input, { name: 'n', op: { type: 'lrn', size: 5, alpha: 1, beta: 1, k: 1, alphaOverSize: true, groups: 4 } }], 'SHAPE', /6 channels are not divisible by groups 4/);
    fails([input, { name: 'd', op: { type: 'dropout', p: 1 } }], 'SHAPE', /p must be in \[0, 1\)/);
    fails([input, { name: 'p', op: { type: 'maxpool2d', kernel: 0, stride: 1 } }], 'SHAPE', /kernel must be a positive integer/);
    fails([input, { name: 's', op: { type: 'softmax' } }], 'SHAPE', /softmax needs a flat/);
  });

  it('rejects bad wiring', () => {
    fails([input, { name: 'x', op: { type: 'relu' } }], 'DUPLICATE_NAME', /node "x"/);
    fails([input, { name: 'r', op: { type: 'relu' }, inputs: ['nowhere'] }], 'UNKNOWN_INPUT', /node "r" \(relu\): reads "nowhere"/);
    fails([input, { name: 'r', op: { type: 'relu' }, inputs: [] }], 'ARITY', /takes 1 input/);
    fails([{ name: 'r', op: { type: 'relu' } }], 'ARITY', /node "r"/);
    fails([{ name: 'r', op: { type: 'relu' }, inputs: [] }], 'ARITY', /takes 1 input/);
    fails([input, { name: 'r', op: { type: 'relu' }, device: -1 }], 'BAD_DEVICE', /device must be a non-negative integer/);
    const twoInputs = new Graph([input, { name: 'y', op: { type: 'input', shape: [1] } }]);
    expect(twoInputs.inputs.map((n) => n.name)).toEqual(['x', 'y']);
    expect(() => twoInputs.input).toThrow(/2 input nodes \(x, y\); one was expected/);
    fails([input, { name: 'a b', op: { type: 'relu' } }], 'BAD_NAME', /identifiers/);
  });

  it('infers the shapes of the multi-device ops: concat, slice, transfer', () => {
    const g = new Graph([
      input,
      { name: 'a', op: { type: 'slice', from: 1, to: 4 }, inputs: ['x'] },
      { name: 'b', op: { type: 'transfer', from: 0, to: 1 }, inputs: ['x'], device: 1 },
      { name: 'c', op: { type: 'concat' }, inputs: ['a', 'b', 'a'] },
    ]);
    expect(g.node('a').shape).toEqual([3, 9, 9]);
    expect(g.node('b').shape).toEqual([6, 9, 9]);
    expect(g.node('b').device).toBe(1);
    expect(g.node('c').shape).toEqual([12, 9, 9]);
    expect(g.node('b').description).toMatch(/1,944 bytes per sample/);
    fails([input, { name: 's', op: { type: 'slice', from: 4, to: 7 } }], 'SHAPE', /slice \[4, 7\) does not fit axis 0 of \[6, 9, 9\]/);
    fails([input, { name: 'f', op: { type: 'flatten' } }, { name: 'c', op: { type: 'concat' }, inputs: ['x', 'f'] }], 'SHAPE', /must agree past axis 0/);
    fails([input, { name: 'c', op: { type: 'concat' }, inputs: [] }], 'ARITY', /one or more/);
    fails([input, { name: 't', op: { type: 'transfer', from: 1, to: 1 } }], 'SHAPE', /two different devices/);
  });

  it('describes each node in one line with its numbers', () => {
    const g = alexnet({ preset: 'paper' });
    expect(g.node('conv1').description).toMatch(/11x11 convolution, stride 4.*3 -> 96.*227x227 -> 55x55/);
    expect(g.node('conv2').description).toMatch(/2 groups/);
    expect(g.node('norm1').description).toMatch(/2 \+ 0\.0001·Σa²\)\^0\.75/);
    expect(g.node('pool1').description).toMatch(/overlapping/);
    for (const n of g.nodes) expect(n.description).not.toMatch(/\n|undefined|NaN/);
  });
});
