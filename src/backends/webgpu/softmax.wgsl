// Softmax over each row of x [n, f]: one workgroup of 256 invocations per row. Each invocation
// takes a strided share of the row for the maximum, then for the sum of exp(x - max); both
// reductions add in a fixed tree. f is at most a few thousand (fc8's classes).

struct Params { f: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> scratch: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.x * params.f;
  let t = lid.x;
  var top = x[row + min(t, params.f - 1u)]; // an element of the row: max() needs no -infinity
  for (var i = t; i < params.f; i = i + 256u) { top = max(top, x[row + i]); }
  scratch[t] = top;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half = half / 2u) {
    if (t < half) { scratch[t] = max(scratch[t], scratch[t + half]); }
    workgroupBarrier();
  }
  let m = scratch[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var i = t; i < params.f; i = i + 256u) { sum = sum + exp(x[row + i] - m); }
  scratch[t] = sum;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half = half / 2u) {
    if (t < half) { scratch[t] = scratch[t] + scratch[t + half]; }
    workgroupBarrier();
  }
  let total = scratch[0];
  for (var i = t; i < params.f; i = i + 256u) { y[row + i] = exp(x[row + i] - m) / total; }
}
