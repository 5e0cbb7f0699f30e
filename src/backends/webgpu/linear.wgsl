// Fully connected: y[n, o] = bias[o] + Σ_k x[n, k] · w[o, k].
// The weights may come in several buffers (fc6's 151 MB is more than the 128 MiB a binding may
// hold by default): each dispatch covers the rows [rowBase, rowBase + rows) in its own buffer.
//
// `gemm` (batch > 1): a workgroup of 16 x 16 invocations owns a 64 (features) x 64 (images) tile
// of y, each invocation a 4 x 4 block; K in steps of 16 through workgroup memory, as in conv.wgsl.
// `gemv` (batches up to 8): a GEMM tile of 64 images would leave most columns idle, and a small
// batch is bound by reading the weights anyway; instead one workgroup of 256 invocations per
// output feature splits its row of K weights (each invocation a strided share), using each weight
// for every image as it is read, then adds the 256 partial sums of each image in a fixed tree, so
// every output is summed the same way on every run and every device.

struct Params {
  n: u32, k: u32, o: u32,
  rowBase: u32, rows: u32,
  relu: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>; // rows [rowBase, rowBase + rows) of W
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn finish(v: f32) -> f32 {
  if (params.relu != 0u && !(v > 0.0)) { return 0.0; }
  return v;
}

const TILE: u32 = 64u;
const KT: u32 = 16u;
var<workgroup> tileW: array<vec4<f32>, 256>; // [k][16 groups of 4 features]
var<workgroup> tileX: array<vec4<f32>, 256>; // [k][16 groups of 4 images]

@compute @workgroup_size(16, 16)
fn gemm(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let f0 = wg.y * TILE; // within this dispatch's rows
  let n0 = wg.x * TILE;
  let t = lid.y * 16u + lid.x;
  var acc: array<vec4<f32>, 4>; // acc[j][i]: image j, feature i
  for (var k0 = 0u; k0 < params.k; k0 = k0 + KT) {
    for (var e = 0u; e < 4u; e = e + 1u) {
      let kl = (t / 64u) * 4u + e;
      let l = t % 64u;
      let k = k0 + kl;
      var wv = 0.0;
      if (k < params.k && f0 + l < params.rows) { wv = weight[(f0 + l) * params.k + k]; }
      tileW[kl * 16u + l / 4u][l % 4u] = wv;
      var xv = 0.0;
      if (k < params.k && n0 + l < params.n) { xv = x[(n0 + l) * params.k + k]; }
      tileX[kl * 16u + l / 4u][l % 4u] = xv;
    }
    workgroupBarrier();
    for (var kl = 0u; kl < KT; kl = kl + 1u) {
      let a = tileW[kl * 16u + lid.y];
      let b = tileX[kl * 16u + lid.x];
      acc[0] = fma(a, vec4<f32>(b.x), acc[0]);
      acc[1] = fma(a, vec4<f32>(b.y), acc[1]);
      acc[2] = fma(a, vec4<f32>(b.z), acc[2]);
      acc[3] = fma(a, vec4<f32>(b.w), acc[3]);
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < 4u; j = j + 1u) {
    let n = n0 + lid.x * 4u + j;
    for (var i = 0u; i < 4u; i = i + 1u) {
      let f = f0 + lid.y * 4u + i;
      if (n < params.n && f < params.rows) {
        let o = params.rowBase + f;
        y[n * params.o + o] = finish(acc[j][i] + bias[o]);
      }
    }
  }
}

const GEMV_IMAGES: u32 = 8u;
var<workgroup> partial: array<array<f32, 256>, 8>; // [image][invocation]

@compute @workgroup_size(256)
fn gemv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let f = wg.x + wg.y * 65535u; // a feature of this dispatch's rows (more than 65535 go in y)
  let t = lid.x;
  var s: array<f32, 8>;
  if (f < params.rows) {
    for (var k = t; k < params.k; k = k + 256u) {
      let w = weight[f * params.k + k];
      for (var n = 0u; n < params.n; n = n + 1u) { s[n] = fma(w, x[n * params.k + k], s[n]); }
    }
  }
  for (var n = 0u; n < GEMV_IMAGES; n = n + 1u) { partial[n][t] = s[n]; }
  workgroupBarrier();
  for (var half = 128u; half > 0u; half = half / 2u) {
    if (t < half) {
      for (var n = 0u; n < GEMV_IMAGES; n = n + 1u) { partial[n][t] = partial[n][t] + partial[n][t + half]; }
    }
    workgroupBarrier();
  }
  if (t < params.n && f < params.rows) {
    let o = params.rowBase + f;
    y[t * params.o + o] = finish(partial[t][0] + bias[o]);
  }
}
