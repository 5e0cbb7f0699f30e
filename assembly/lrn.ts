// Local response normalisation across channels, vectorised over the pixels of a map:
// y[c] = x[c] / (k + scale·Σ_j x[j]²)^β, j within size/2 of c inside c's group.
import { shareBegin } from './gemm';

/** d^-0.75 as 1 / (√d · √√d): two correctly rounded square roots instead of a pow per pixel. */
@inline
export function rsqrt34(d: v128): v128 {
  const r = f32x4.sqrt(d);
  return f32x4.div(f32x4.splat(1), f32x4.mul(r, f32x4.sqrt(r)));
}

/** x, y [n, c, hw]; the n·c maps are split into `parts` shares. */
export function lrn(x: usize, y: usize, n: i32, c: i32, hw: i32, size: i32, scale: f32, beta: f32, k: f32, groups: i32, part: i32, parts: i32): void {
  const half = size >> 1;
  const perGroup = c / groups;
  const fast = beta == 0.75;
  const vk = f32x4.splat(k);
  const vscale = f32x4.splat(scale);
  const end = shareBegin(n * c, part + 1, parts);
  for (let u = shareBegin(n * c, part, parts); u < end; u++) {
    const image = u / c;
    const ci = u - image * c;
    const lo = (ci / perGroup) * perGroup;
    const first = max(lo, ci - half);
    const last = min(lo + perGroup - 1, ci + half);
    const maps = x + (<usize>image * c * hw << 2);
    const xc = maps + (<usize>ci * hw << 2);
    const yc = y + (<usize>u * hw << 2);
    let i = 0;
    if (fast) {
      for (; i + 4 <= hw; i += 4) {
        let sum = f32x4.splat(0);
        for (let j = first; j <= last; j++) {
          const a = v128.load(maps + ((<usize>j * hw + i) << 2));
          sum = f32x4.add(sum, f32x4.mul(a, a));
        }
        const d = f32x4.add(vk, f32x4.mul(vscale, sum));
        v128.store(yc + (<usize>i << 2), f32x4.mul(v128.load(xc + (<usize>i << 2)), rsqrt34(d)));
      }
    }
    for (; i < hw; i++) {
      let sum: f32 = 0;
      for (let j = first; j <= last; j++) {
        const a = load<f32>(maps + ((<usize>j * hw + i) << 2));
        sum += a * a;
      }
      const d: f32 = k + scale * sum;
      const p: f32 = fast ? <f32>1 / (Mathf.sqrt(d) * Mathf.sqrt(Mathf.sqrt(d))) : <f32>Math.pow(<f64>d, -<f64>beta);
      store<f32>(yc + (<usize>i << 2), load<f32>(xc + (<usize>i << 2)) * p);
    }
  }
}
