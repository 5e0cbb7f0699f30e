// The per-element ops, one invocation per output value, 256 per workgroup (dispatched over x and,
// past 65535 workgroups, y; LRN over pixels, channels and images): ReLU; LRN across channels (both alpha forms, groups); max-pool; and
// average pools, fixed or adaptive. Each reads a handful of inputs, so there is nothing to tile.
// A pool's window is clipped to the map: padding holds no input (it never wins a max, and counts
// in a mean only with countIncludePad, up to the padded map's edge, as PyTorch counts it).

struct Params {
  count: u32,                        // output values
  c: u32, h: u32, w: u32,            // input maps (per image)
  oh: u32, ow: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, // pools: the window
  top: u32, left: u32, bottom: u32, right: u32,
  countIncludePad: u32, adaptive: u32,
  size: u32, groups: u32,            // LRN
  scale: f32, beta: f32, k: f32,
}

// Output o's window on an axis: [o·stride − before, + kernel) clipped to [0, size), and its extent in the padded map.
struct Span { lo: u32, hi: u32, padded: u32 }

fn span(o: u32, kernel: u32, stride: u32, before: u32, after: u32, size: u32) -> Span {
  let start = i32(o * stride) - i32(before);
  let end = min(start + i32(kernel), i32(size + after));
  return Span(u32(max(start, 0)), u32(min(end, i32(size))), u32(end - start));
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

// y[c] = x[c] / (k + scale · Σ_j x[j]²)^β over the channels j within size/2 of c inside c's group.
// Dispatched as (pixels, channels, images), so that no invocation divides to find its place: a
// vector integer division is a scalar loop on a CPU-backed adapter, and cost more than the op.
@compute @workgroup_size(256)
fn lrn(@builtin(global_invocation_id) id: vec3<u32>) {
  let hw = params.h * params.w;
  let pixel = id.x;
  if (pixel >= hw) { return; }
  let c = id.y;
  let mapsBase = id.z * params.c * hw;
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
  let i = mapsBase + c * hw + pixel;
  y[i] = x[i] * pow(params.k + params.scale * sum, -params.beta);
}

@compute @workgroup_size(256)
fn maxpool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wg, lid);
  if (i >= params.count) { return; }
  let ox = i % params.ow;
  let oy = (i / params.ow) % params.oh;
  let map = i / (params.ow * params.oh);
  let ys = span(oy, params.kh, params.sh, params.top, params.bottom, params.h);
  let xs = span(ox, params.kw, params.sw, params.left, params.right, params.w);
  var best = x[(map * params.h + ys.lo) * params.w + xs.lo];
  for (var iy = ys.lo; iy < ys.hi; iy = iy + 1u) {
    for (var ix = xs.lo; ix < xs.hi; ix = ix + 1u) {
      let v = x[(map * params.h + iy) * params.w + ix];
      best = select(max(best, v), v, v != v); // NaN wins, as Math.max
      if (best != best) { break; }
    }
  }
  y[i] = best;
}

// Fixed windows (clipped, as above) or PyTorch's adaptive bins [⌊o·in/out⌋, ⌈(o+1)·in/out⌉)
@compute @workgroup_size(256)
fn avgpool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = index(wg, lid);
  if (i >= params.count) { return; }
  let ox = i % params.ow;
  let oy = (i / params.ow) % params.oh;
  let map = i / (params.ow * params.oh);
  var ys = span(oy, params.kh, params.sh, params.top, params.bottom, params.h);
  var xs = span(ox, params.kw, params.sw, params.left, params.right, params.w);
  if (params.adaptive != 0u) {
    ys = Span((oy * params.h) / params.oh, ((oy + 1u) * params.h + params.oh - 1u) / params.oh, 0u);
    xs = Span((ox * params.w) / params.ow, ((ox + 1u) * params.w + params.ow - 1u) / params.ow, 0u);
  }
  var sum = 0.0;
  for (var iy = ys.lo; iy < ys.hi; iy = iy + 1u) {
    for (var ix = xs.lo; ix < xs.hi; ix = ix + 1u) { sum = sum + x[(map * params.h + iy) * params.w + ix]; }
  }
  var count = (ys.hi - ys.lo) * (xs.hi - xs.lo);
  if (params.countIncludePad != 0u) { count = ys.padded * xs.padded; }
  y[i] = sum / f32(count);
}
