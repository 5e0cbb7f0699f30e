// The gradient of every op, written as the chain rule over the forward definitions in
// src/backends/reference/kernels.ts: plain loops, float64 accumulation, one float32 rounding per
// value. They are the oracle for faster backward kernels, as the forward kernels are for theirs.
import type { OpOf } from '../graph/index.js';
import { windowOf } from '../graph/index.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../tensor.js';

/** dL/dx, dL/dw, dL/db of y = conv(x, w) + b, given dL/dy. */
export function conv2dBackward(op: OpOf<'conv2d'>, x: Tensor, w: Tensor, dy: Tensor): { dx: Tensor; dw: Tensor; db: Tensor } {
  const [n, c, h, wd] = x.shape;
  const [, o, oh, ow] = dy.shape;
  const { kh, kw, sh, sw, top, left } = windowOf(op);
  const { groups } = op;
  const cg = c / groups;
  const og = o / groups;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(o);
  for (let ni = 0; ni < n; ni++) {
    for (let oc = 0; oc < o; oc++) {
      const c0 = Math.floor(oc / og) * cg;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const g = dy.data[((ni * o + oc) * oh + oy) * ow + ox];
          db[oc] += g;
          for (let ci = 0; ci < cg; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - top + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * sw - left + kx;
                if (ix < 0 || ix >= wd) continue;
                const xi = ((ni * c + c0 + ci) * h + iy) * wd + ix;
                const wi = ((oc * cg + ci) * kh + ky) * kw + kx;
                dx[xi] += g * w.data[wi];
                dw[wi] += g * x.data[xi];
              }
            }
          }
        }
      }
    }
  }
  return { dx: tensor(x.shape, Float32Array.from(dx)), dw: tensor(w.shape, Float32Array.from(dw)), db: tensor([o], Float32Array.from(db)) };
}

/** y = W x + b: dx = Wᵀ dy, dW = Σ_n dy xᵀ, db = Σ_n dy. */
export function linearBackward(x: Tensor, w: Tensor, dy: Tensor): { dx: Tensor; dw: Tensor; db: Tensor } {
  const [n, inF] = x.shape;
  const [o] = w.shape;
  const dx = tensor(x.shape);
  const dw = tensor(w.shape);
  const db = tensor([o]);
  for (let ni = 0; ni < n; ni++) {
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let oi = 0; oi < o; oi++) acc += dy.data[ni * o + oi] * w.data[oi * inF + i];
      dx.data[ni * inF + i] = acc;
    }
  }
  for (let oi = 0; oi < o; oi++) {
    let bias = 0;
    for (let ni = 0; ni < n; ni++) bias += dy.data[ni * o + oi];
    db.data[oi] = bias;
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let ni = 0; ni < n; ni++) acc += dy.data[ni * o + oi] * x.data[ni * inF + i];
      dw.data[oi * inF + i] = acc;
    }
  }
  return { dx, dw, db };
}

/** y = max(0, x): the gradient passes where x > 0 (y > 0 says the same). */
export function reluBackward(y: Tensor, dy: Tensor): Tensor {
  const dx = tensor(y.shape);
  for (let i = 0; i < dy.data.length; i++) dx.data[i] = y.data[i] > 0 ? dy.data[i] : 0;
  return dx;
}

/**
 * y_c = x_c · D_c^-β with D_c = k + s Σ_{j∈W(c)} x_j². Windows are symmetric (j ∈ W(c) ⇔ c ∈ W(j)),
 * so dx_j = dy_j D_j^-β − 2sβ x_j Σ_{c∈W(j)} dy_c x_c D_c^(-β-1).
 */
export function lrnBackward(op: OpOf<'lrn'>, x: Tensor, dy: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const half = Math.floor(op.size / 2);
  const perGroup = c / op.groups;
  const s = op.alphaOverSize ? op.alpha / op.size : op.alpha;
  const window = (ci: number): [number, number] => {
    const lo = Math.floor(ci / perGroup) * perGroup;
    return [Math.max(lo, ci - half), Math.min(lo + perGroup - 1, ci + half)];
  };
  const dx = tensor(x.shape);
  const d = new Float64Array(c);
  for (let ni = 0; ni < n; ni++) {
    for (let i = 0; i < hw; i++) {
      const at = (ci: number): number => (ni * c + ci) * hw + i;
      for (let ci = 0; ci < c; ci++) {
        const [first, last] = window(ci);
        let sum = 0;
        for (let j = first; j <= last; j++) sum += x.data[at(j)] ** 2;
        d[ci] = op.k + s * sum;
      }
      for (let j = 0; j < c; j++) {
        const [first, last] = window(j);
        let cross = 0;
        for (let ci = first; ci <= last; ci++) cross += dy.data[at(ci)] * x.data[at(ci)] * Math.pow(d[ci], -op.beta - 1);
        dx.data[at(j)] = dy.data[at(j)] * Math.pow(d[j], -op.beta) - 2 * s * op.beta * x.data[at(j)] * cross;
      }
    }
  }
  return dx;
}

/**
 * Each output's gradient goes to the input that was its window's maximum (the first in row-major
 * order on ties, as the forward's scan); overlapping windows add up.
 */
export function maxpool2dBackward(op: OpOf<'maxpool2d'>, x: Tensor, dy: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const [, , oh, ow] = dy.shape;
  const { kh, kw, sh, sw, top, left } = windowOf(op);
  const dx = new Float64Array(x.data.length);
  for (let m = 0; m < n * c; m++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let best = -1;
        // the window clipped to the input, as the forward takes it
        for (let iy = Math.max(0, oy * sh - top); iy < Math.min(h, oy * sh - top + kh); iy++) {
          for (let ix = Math.max(0, ox * sw - left); ix < Math.min(w, ox * sw - left + kw); ix++) {
            const i = (m * h + iy) * w + ix;
            if (best < 0 || x.data[i] > x.data[best]) best = i;
          }
        }
        dx[best] += dy.data[(m * oh + oy) * ow + ox];
      }
    }
  }
  return tensor(x.shape, Float32Array.from(dx));
}

/** Inverted dropout: y = x · mask, the mask holding 0 or 1/(1-p); the same mask scales the gradient. */
export function dropoutBackward(mask: Float32Array, dy: Tensor): Tensor {
  const dx = tensor(dy.shape);
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = dy.data[i] * mask[i];
  return dx;
}

/**
 * Mean cross-entropy of softmax(logits) against integer labels, and its gradient with respect to the
 * logits, (softmax − onehot) / N: the softmax and the loss differentiated together, which is exact
 * where differentiating them apart would divide by probabilities that underflow.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array): { loss: number; prob: Tensor; dlogits: Tensor } {
  const [n, f] = logits.shape;
  const prob = tensor(logits.shape);
  const dlogits = tensor(logits.shape);
  let loss = 0;
  for (let ni = 0; ni < n; ni++) {
    const row = logits.data.subarray(ni * f, (ni + 1) * f);
    let top = -Infinity;
    for (const v of row) top = Math.max(top, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - top);
    const label = labels[ni];
    loss += Math.log(sum) - (row[label] - top);
    for (let i = 0; i < f; i++) {
      const p = Math.exp(row[i] - top) / sum;
      prob.data[ni * f + i] = p;
      dlogits.data[ni * f + i] = (p - (i === label ? 1 : 0)) / n;
    }
  }
  return { loss: loss / n, prob, dlogits };
}
