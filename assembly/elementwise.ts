// ReLU and softmax.
import { reluInPlace, shareBegin } from './gemm';

/** y = max(0, x) over count floats, NaN -> 0 as in the reference; split into shares of whole vectors. */
export function relu(x: usize, y: usize, count: i32, part: i32, parts: i32): void {
  const vectors = count >> 2;
  const begin = shareBegin(vectors, part, parts) << 2;
  const end = part == parts - 1 ? count : shareBegin(vectors, part + 1, parts) << 2;
  if (x != y) memory.copy(y + (<usize>begin << 2), x + (<usize>begin << 2), <usize>(end - begin) << 2);
  reluInPlace(y + (<usize>begin << 2), end - begin);
}

/** Per row of x [n, f]: exp(x - max) / Σ exp(x - max), in float64 (f is at most a few thousand). */
export function softmax(x: usize, y: usize, n: i32, f: i32): void {
  for (let r = 0; r < n; r++) {
    const xr = x + (<usize>r * f << 2);
    const yr = y + (<usize>r * f << 2);
    let top: f64 = -Infinity;
    for (let i = 0; i < f; i++) top = max(top, <f64>load<f32>(xr + (<usize>i << 2)));
    let sum: f64 = 0;
    for (let i = 0; i < f; i++) sum += Math.exp(<f64>load<f32>(xr + (<usize>i << 2)) - top);
    for (let i = 0; i < f; i++) store<f32>(yr + (<usize>i << 2), <f32>(Math.exp(<f64>load<f32>(xr + (<usize>i << 2)) - top) / sum));
  }
}
