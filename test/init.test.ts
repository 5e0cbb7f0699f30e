// The paper's initialisation: N(0, 0.01) weights, unit biases where the paper says, repeatable.
import { describe, expect, it } from 'vitest';
import { alexnet } from '../src/models/index.js';
import { createRng, fillNormal } from '../src/random.js';
import { paperInit } from '../src/train/index.js';

describe('paper initialisation', () => {
  const graph = alexnet({ preset: 'paper', width: 0.25, classes: 10 });

  it('sets biases to 1 in conv2, conv4, conv5, fc6 and fc7 and to 0 in conv1, conv3, fc8 (section 5)', () => {
    const w = paperInit(graph, { seed: 1 });
    for (const layer of ['conv2', 'conv4', 'conv5', 'fc6', 'fc7']) expect(new Set(w.get(`${layer}.bias`)!.data)).toEqual(new Set([1]));
    for (const layer of ['conv1', 'conv3', 'fc8']) expect(new Set(w.get(`${layer}.bias`)!.data)).toEqual(new Set([0]));
  });

  it('draws weights from a zero-mean Gaussian with standard deviation 0.01', () => {
    const w = paperInit(graph, { seed: 2 });
    const all = graph.params().filter((p) => p.kind === 'weight').flatMap((p) => Array.from(w.get(p.name)!.data));
    const n = all.length;
    const mean = all.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan((5 * 0.01) / Math.sqrt(n)); // five standard errors
    expect(Math.abs(std - 0.01)).toBeLessThan(0.0001);
    // Gaussian, not merely the right variance: the 1- and 2-sigma masses (68.27 %, 95.45 %)
    const within = (k: number): number => all.filter((v) => Math.abs(v) < k * 0.01).length / n;
    expect(Math.abs(within(1) - 0.6827)).toBeLessThan(0.005);
    expect(Math.abs(within(2) - 0.9545)).toBeLessThan(0.003);
  });

  it('repeats for a seed and differs between seeds', () => {
    const a = paperInit(graph, { seed: 7 }).get('conv1.weight')!.data;
    const b = paperInit(graph, { seed: 7 }).get('conv1.weight')!.data;
    const c = paperInit(graph, { seed: 8 }).get('conv1.weight')!.data;
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('fills every element of an odd-length buffer, the last one too', () => {
    const out = fillNormal(createRng(3), new Float32Array(5).fill(NaN), 0, 1);
    expect(out.every((v) => Number.isFinite(v) && v !== 0)).toBe(true);
  });
});
