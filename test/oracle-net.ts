// AlexNet written out from the design card's contract table with the oracle's ops, independent of
// src/models and src/graph: layer hyper-parameters come from the table below, channel counts from
// the weights themselves. Returns every layer's output by its Caffe name.
import * as o from './oracle.js';

type Preset = 'paper' | 'bvlc' | 'torchvision' | 'mini';

export function oracleAlexnet(preset: Preset, weights: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>, input: o.Arr): Map<string, o.Arr> {
  const p = (name: string): o.Arr => {
    const t = weights.get(name);
    if (!t) throw new Error(`oracle: no ${name}`);
    return o.fromF32(t.shape, t.data);
  };
  const tv = preset === 'torchvision';
  const towers = tv ? 1 : 2;
  // [layer, stride, pad, groups] from the contract: conv1 11x11/4 (pad 2 only in torchvision; mini:
  // 5x5 stride 1 pad 2), conv2 5x5 pad 2, conv3-5 3x3 pad 1
  const mini = preset === 'mini';
  const convs: [string, number, number, number][] = [
    ['conv1', mini ? 1 : 4, tv || mini ? 2 : 0, 1],
    ['conv2', 1, 2, towers],
    ['conv3', 1, 1, 1],
    ['conv4', 1, 1, towers],
    ['conv5', 1, 1, towers],
  ];
  const lrn = (x: o.Arr): o.Arr => (preset === 'paper' || mini ? o.lrn(x, 5, 1e-4, 0.75, 2, false, 2) : o.lrn(x, 5, 1e-4, 0.75, 1, true, 1));
  const out = new Map<string, o.Arr>();
  let x = input;
  const step = (name: string, y: o.Arr): void => {
    out.set(name, y);
    x = y;
  };
  for (const [i, [name, stride, pad, groups]] of convs.entries()) {
    const n = i + 1;
    step(name, o.conv2d(x, p(`${name}.weight`), p(`${name}.bias`), stride, pad, groups));
    step(`relu${n}`, o.relu(x));
    if (n <= 2 && !tv) step(`norm${n}`, lrn(x));
    if (n === 1 || n === 2 || n === 5) step(`pool${n}`, o.maxpool2d(x, 3, 2));
  }
  if (tv) {
    const bins = (size: number): [number, number][] => Array.from({ length: 6 }, (_, i) => [Math.floor((i * size) / 6), Math.ceil(((i + 1) * size) / 6)]);
    step('avgpool', o.avgpoolBins(x, bins(x.shape[2]), bins(x.shape[3])));
  }
  step('flatten', o.flatten(x));
  for (const n of [6, 7, 8]) {
    step(`fc${n}`, o.linear(x, p(`fc${n}.weight`), p(`fc${n}.bias`)));
    if (n < 8) step(`relu${n}`, o.relu(x));
  }
  step('prob', o.softmax(x));
  return out;
}
