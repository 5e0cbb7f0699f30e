// Checks a set of named tensors against a model's parameter list before anything runs, naming every
// missing, unexpected or misshapen tensor at once. NaN or infinite values are rejected, not warned
// about: one such weight turns every output it reaches into NaN, and a NaN reference would agree
// with any broken backend.
import { WeightsError } from '../errors.js';
import type { Shape, Tensor } from '../tensor.js';
import { sameShape, shapeToString } from '../tensor.js';

export interface ExpectedParam {
  readonly name: string;
  readonly shape: Shape;
}

/** Names and shapes against the model, then (unless `values` is false: trying which preset fits) that every value is finite. */
export function checkWeights(expected: readonly ExpectedParam[], tensors: ReadonlyMap<string, Tensor>, source = 'weights', values = true): void {
  const wanted = new Set(expected.map((p) => p.name));
  const missing = expected.filter((p) => !tensors.has(p.name)).map((p) => `${p.name} ${shapeToString(p.shape)}`);
  if (missing.length) throw new WeightsError('MISSING', `${source}: the model needs tensors that are not there: ${missing.join(', ')}`);
  const extra = [...tensors.keys()].filter((name) => !wanted.has(name));
  if (extra.length) throw new WeightsError('UNEXPECTED', `${source}: tensors the model does not have: ${extra.join(', ')}`);
  const misshapen = expected
    .filter((p) => !sameShape(tensors.get(p.name)!.shape, p.shape))
    .map((p) => `${p.name} is ${shapeToString(tensors.get(p.name)!.shape)}, the model needs ${shapeToString(p.shape)}`);
  if (misshapen.length) throw new WeightsError('SHAPE', `${source}: wrong shapes for this model (check --arch and the model options): ${misshapen.join('; ')}`);
  if (!values) return;
  for (const [name, t] of tensors) {
    const { data } = t;
    let bad = -1;
    // v - v is 0 for a finite v and NaN for NaN and ±∞: one subtraction a value, no call
    for (let i = 0; i < data.length && bad < 0; i++) if (data[i] - data[i] !== 0) bad = i;
    if (bad >= 0) throw new WeightsError('NONFINITE', `${source}: tensor "${name}" holds ${t.data[bad]} at flat index ${bad}; weights must be finite`);
  }
}

// torchvision's AlexNet state dict: `features` and `classifier` are nn.Sequential, so its
// parameters are named by position. The layers with parameters, by their Caffe names.
const TORCHVISION_NAMES: Readonly<Record<string, string>> = {
  'features.0': 'conv1',
  'features.3': 'conv2',
  'features.6': 'conv3',
  'features.8': 'conv4',
  'features.10': 'conv5',
  'classifier.1': 'fc6',
  'classifier.4': 'fc7',
  'classifier.6': 'fc8',
};

/** Our (Caffe's) layer name for a torchvision AlexNet layer path (features.0 -> conv1), if it is one. */
export function torchvisionLayer(path: string): string | undefined {
  return TORCHVISION_NAMES[path];
}

/**
 * Tensors named as in torchvision's state dict (`features.0.weight`, ...) renamed to ours
 * (`conv1.weight`, ...); `undefined` when the names are not torchvision's, and names it does not
 * know are kept, so checkWeights reports them.
 */
export function fromTorchvisionNames(tensors: ReadonlyMap<string, Tensor>): Map<string, Tensor> | undefined {
  if (![...tensors.keys()].some((name) => /^(features|classifier)\.\d+\./.test(name))) return undefined;
  return new Map(
    [...tensors].map(([name, t]) => {
      const [, layer, param] = /^(.*)\.(weight|bias)$/.exec(name) ?? [];
      return [layer && TORCHVISION_NAMES[layer] ? `${TORCHVISION_NAMES[layer]}.${param}` : name, t];
    }),
  );
}
