// The per-element ops, one invocation per output value, 256 per workgroup (dispatched over x and,
// past 65535 workgroups, y): ReLU; LRN across channels (both alpha forms, groups); max-pool; and
// average pools, fixed or adaptive. Each reads a handful of inputs, so there is nothing to tile.

struct Params {
  count: u32,                        // output values
  c: u32, h: u32, w: u32,            // input maps (per image)
  oh: u32, ow: u32,
  kernel: u32, stride: u32,          // pools
  adaptive: u32,
  size: u32, groups: u32,            // LRN
  scale: f32, beta: f32, k: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn index(wg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wg.y * 65535u + wg.x) * 256u + lid.x;
}

@compute @workgroup_size(256)
fn relu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wg, lid);
  if (i >= params.count) { return; }
  let v = x[i];
  y[i] = select(0.0, v, v > 0.0); // NaN -> 0, as the reference
}

// y[c] = x[c] / (k + scale · Σ_j x[j]²)^β over the channels j within size/2 of c inside c's group
@compute @workgroup_size(256)
fn lrn(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wg, lid);
  if (i >= params.count) { return; }
  let hw = params.h * params.w;
  let pixel = i % hw;
  let c = (i / hw) % params.c;
  let mapsBase = (i / (hw * params.c)) * params.c * hw;
  let perGroup = params.c / params.groups;
  let lo = (c / perGroup) * perGroup;
  let half = params.size / 2u;
  let first = max(lo, max(c, half) - half);
  let last = min(lo + perGroup - 1u, c + half);
  var sum = 0.0;
  for (var j = first; j <= last; j = j + 1u) {
    let a = x[mapsBase + j * hw + pixel];
    sum = fma(a, a, sum);
  }
  y[i] = x[i] * pow(params.k + params.scale * sum, -params.beta);
}

@compute @workgroup_size(256)
fn maxpool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wg, lid);
  if (i >= params.count) { return; }
  let ox = i % params.ow;
  let oy = (i / params.ow) % params.oh;
  let map = i / (params.ow * params.oh);
  let base = map * params.h * params.w + oy * params.stride * params.w + ox * params.stride;
  var best = x[base];
  for (var ky = 0u; ky < params.kernel; ky = ky + 1u) {
    for (var kx = 0u; kx < params.kernel; kx = kx + 1u) {
      let v = x[base + ky * params.w + kx];
      best = select(max(best, v), v, v != v); // NaN wins, as Math.max
      if (best != best) { break; }
    }
  }
  y[i] = best;
}

// Fixed windows [o·stride, o·stride + kernel) or PyTorch's adaptive bins [⌊o·in/out⌋, ⌈(o+1)·in/out⌉)
@compute @workgroup_size(256)
fn avgpool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wg, lid);
  if (i >= params.count) { return; }
  let ox = i % params.ow;
  let oy = (i / params.ow) % params.oh;
  let map = i / (params.ow * params.oh);
  var y0 = oy * params.stride;
  var y1 = y0 + params.kernel;
  var x0 = ox * params.stride;
  var x1 = x0 + params.kernel;
  if (params.adaptive != 0u) {
    y0 = (oy * params.h) / params.oh;
    y1 = ((oy + 1u) * params.h + params.oh - 1u) / params.oh;
    x0 = (ox * params.w) / params.ow;
    x1 = ((ox + 1u) * params.w + params.ow - 1u) / params.ow;
  }
  var sum = 0.0;
  for (var iy = y0; iy < y1; iy = iy + 1u) {
    for (var ix = x0; ix < x1; ix = ix + 1u) { sum = sum + x[(map * params.h + iy) * params.w + ix]; }
  }
  y[i] = sum / f32((y1 - y0) * (x1 - x0));
}
