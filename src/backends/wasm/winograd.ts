// Host side of the Winograd convolution (assembly/winograd.ts): its matrices and the weight
// transform. F(m, r) from n = m + r - 1 points, n - 1 finite (a_i) and one at infinity, in closed
// form (Toom-Cook): with f_i = Π_{k≠i} (a_i - a_k),
//   Gᵀ rows:  G[i] = [1, a_i, ..., a_i^(r-1)] / f_i,         G[n-1] = [0, ..., 0, 1]
//   Aᵀ:       Aᵀ[j][i] = a_i^j,                              Aᵀ[j][n-1] = (j == m-1)
//   Bᵀ rows:  Bᵀ[i] = coefficients of Π_{k≠i} (x - a_k),     Bᵀ[n-1] = those of Π_k (x - a_k)
// so that Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation of d with g (checked in test/wasm.test.ts).
// Small points keep the float32 error near that of a direct convolution.
import type { OpOf } from '../../graph/index.js';
import { windowOf } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';

const M = 2; // outputs per tile side
const POINTS: Readonly<Record<number, readonly number[]>> = { 3: [0, 1, -1], 5: [0, 1, -1, 2, -2] };

export interface WinogradMatrices {
  readonly t: number;
  readonly bt: number[][];
  readonly at: number[][];
  readonly g: number[][];
}

/** Stride-1 3x3 and 5x5 convs (any padding) go through Winograd F(2x2, r x r). */
export function usesWinograd(op: OpOf<'conv2d'>): boolean {
  const w = windowOf(op);
  return w.sh === 1 && w.sw === 1 && w.kh === w.kw && w.kh in POINTS;
}

/** Coefficients, lowest power first, of Π (x - root). */
function fromRoots(roots: readonly number[]): number[] {
  let c = [1];
  for (const root of roots) c = [...c, 0].map((v, i) => (i > 0 ? c[i - 1] : 0) - root * v);
  return c;
}

export function winogradMatrices(r: number): WinogradMatrices {
  const a = POINTS[r];
  const t = M + r - 1;
  const f = a.map((ai, i) => a.reduce((p, ak, k) => (k === i ? p : p * (ai - ak)), 1));
  const unit = (len: number): number[] => Array.from({ length: len }, (_, j) => (j === len - 1 ? 1 : 0));
  return {
    t,
    g: [...a.map((ai, i) => Array.from({ length: r }, (_, j) => ai ** j / f[i])), unit(r)],
    at: Array.from({ length: M }, (_, j) => [...a.map((ai) => ai ** j), j === M - 1 ? 1 : 0]),
    bt: [...a.map((_, i) => [...fromRoots(a.filter((__, k) => k !== i)), 0]), fromRoots(a)],
  };
}

/** Floats packWinograd writes: per group, t² matrices of ceil(og / mr) A panels [cg x mr]. */
export function winogradFloats(op: OpOf<'conv2d'>, cin: number, mr: number): number {
  const t = M + windowOf(op).kh - 1;
  return op.groups * t * t * Math.ceil(op.out / op.groups / mr) * mr * (cin / op.groups);
}

/** U[ξν][o][c] = (G g Gᵀ)[ξ][ν] for every filter g = w[o][c], packed as assembly/winograd.ts reads it. */
export function packWinograd(op: OpOf<'conv2d'>, w: Tensor, mr: number, out: Float32Array): void {
  const r = windowOf(op).kh;
  const { g, t } = winogradMatrices(r);
  const [o, cg] = w.shape;
  const og = o / op.groups;
  const panelsO = Math.ceil(og / mr);
  const u = new Float64Array(t * t);
  const tmp = new Float64Array(t * r);
  for (let oc = 0; oc < o; oc++) {
    const group = Math.floor(oc / og);
    const row = oc % og;
    for (let ci = 0; ci < cg; ci++) {
      const filter = w.data.subarray((oc * cg + ci) * r * r, (oc * cg + ci + 1) * r * r);
      for (let i = 0; i < t; i++) for (let b = 0; b < r; b++) tmp[i * r + b] = g[i].reduce((s, gv, k) => s + gv * filter[k * r + b], 0);
      for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) u[i * t + j] = g[j].reduce((s, gv, k) => s + tmp[i * r + k] * gv, 0);
      for (let e = 0; e < t * t; e++) {
        const panel = ((group * t * t + e) * panelsO + Math.floor(row / mr)) * mr * cg;
        out[panel + ci * mr + (row % mr)] = u[e];
      }
    }
  }
}
