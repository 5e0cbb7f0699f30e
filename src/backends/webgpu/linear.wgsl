// Fully connected: y[n, o] = bias[o] + Σ_k x[n, k] · w[o, k].
// The weights may come in several buffers (fc6's 151 MB is more than the 128 MiB a binding may
// hold by default): each dispatch covers the rows [rowBase, rowBase + rows) in its own buffer.
//
// `gemm` (batch > 8): a workgroup of 16 x 16 invocations owns a 64 (features) x 64 (images) tile
// of y, each invocation a 4 x 4 block; K in steps of 16 through workgroup memory, as in conv.wgsl.
// `gemv` (batches up to 8, and any batch on a software adapter, 8 images per dispatch): a GEMM tile of 64 images would leave most columns idle, and a small
// batch is bound by reading the weights anyway, so each weight is read once and used for every
// image. Two passes and no workgroup barrier: on software adapters (lavapipe, SwiftShader) a
// barrier suspends and resumes every SIMD group of the workgroup, and the former reduction tree
// (a 256-wide workgroup per feature, 9 barriers) made mini's fc6 take 20x conv2's time for 1/15 of
// its multiply-adds in chromium's SwiftShader.
//   gemv4, gemv: `split` invocations share each feature's row, invocation `lane` taking k = lane,
//            lane + split, ... in turn (neighbouring invocations read neighbouring weights, which
//            a GPU coalesces), and write one partial sum per image;
//   gemvSum: one invocation per output adds its feature's `split` partial sums in lane order.
// The host picks `split` from K alone, so every output is summed in the same order on every run,
// every device, and whichever rows a partition gives a device.

struct Params {
  n: u32, k: u32, o: u32,
  rowBase: u32, rows: u32,
  relu: u32,
  split: u32, // gemv: invocations per feature
  image0: u32, // gemv: the first image of this dispatch's (up to 8)
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

// `naive`: one output per invocation, a dot product read from storage (the kernel ladder's first rung).
@compute @workgroup_size(64)
fn naive(@builtin(global_invocation_id) id: vec3<u32>) {
  let f = id.x; // within this dispatch's rows
  let n = id.y;
  if (f >= params.rows) { return; }
  var acc = 0.0;
  for (var k = 0u; k < params.k; k = k + 1u) { acc = fma(weight[f * params.k + k], x[n * params.k + k], acc); }
  let o = params.rowBase + f;
  y[n * params.o + o] = finish(acc + bias[o]);
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

override IMAGES: u32 = 1u; // images per gemv dispatch, 1..8: a pipeline per count, so the image loops have a fixed count
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>; // x and W four k at a time, when K % 4 == 0
@group(0) @binding(2) var<storage, read> weight4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>; // [image][feature][lane]

// One accumulator per image rather than a vec4: eight vec4s would not fit a CPU's SIMD registers.
fn dot4(a: vec4<f32>, b: vec4<f32>, s: f32) -> f32 { return fma(a.w, b.w, fma(a.z, b.z, fma(a.y, b.y, fma(a.x, b.x, s)))); }

// K % 4 == 0 (every preset's fc layers): four k per load, the images unrolled by hand (SwiftShader
// keeps an array indexed by a loop variable in memory, which made this 2-4x slower; with constant
// indices it stays in registers).
@compute @workgroup_size(256)
fn gemv4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.x + wg.y * 65535u) * 256u + lid.x; // f * split + lane
  let f = i / params.split;
  if (f >= params.rows) { return; }
  let k4 = params.k / 4u;
  let x0 = params.image0 * k4;
  var s: array<f32, 8>;
  for (var k = i % params.split; k < k4; k = k + params.split) {
    let w = weight4[f * k4 + k];
    s[0] = dot4(w, x4[x0 + k], s[0]);
    if (IMAGES > 1u) { s[1] = dot4(w, x4[x0 + 1u * k4 + k], s[1]); }
    if (IMAGES > 2u) { s[2] = dot4(w, x4[x0 + 2u * k4 + k], s[2]); }
    if (IMAGES > 3u) { s[3] = dot4(w, x4[x0 + 3u * k4 + k], s[3]); }
    if (IMAGES > 4u) { s[4] = dot4(w, x4[x0 + 4u * k4 + k], s[4]); }
    if (IMAGES > 5u) { s[5] = dot4(w, x4[x0 + 5u * k4 + k], s[5]); }
    if (IMAGES > 6u) { s[6] = dot4(w, x4[x0 + 6u * k4 + k], s[6]); }
    if (IMAGES > 7u) { s[7] = dot4(w, x4[x0 + 7u * k4 + k], s[7]); }
  }
  let image = params.rows * params.split;
  partial[i] = s[0];
  if (IMAGES > 1u) { partial[1u * image + i] = s[1]; }
  if (IMAGES > 2u) { partial[2u * image + i] = s[2]; }
  if (IMAGES > 3u) { partial[3u * image + i] = s[3]; }
  if (IMAGES > 4u) { partial[4u * image + i] = s[4]; }
  if (IMAGES > 5u) { partial[5u * image + i] = s[5]; }
  if (IMAGES > 6u) { partial[6u * image + i] = s[6]; }
  if (IMAGES > 7u) { partial[7u * image + i] = s[7]; }
}

// Any K (fc layers of width-scaled models), one k at a time.
@compute @workgroup_size(256)
fn gemv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.x + wg.y * 65535u) * 256u + lid.x;
  let f = i / params.split;
  if (f >= params.rows) { return; }
  var s: array<f32, 8>;
  for (var k = i % params.split; k < params.k; k = k + params.split) {
    let w = weight[f * params.k + k];
    for (var n = 0u; n < IMAGES; n = n + 1u) { s[n] = fma(w, x[(params.image0 + n) * params.k + k], s[n]); }
  }
  for (var n = 0u; n < IMAGES; n = n + 1u) { partial[n * params.rows * params.split + i] = s[n]; }
}

@compute @workgroup_size(256)
fn gemvSum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.x + wg.y * 65535u) * 256u + lid.x; // (n - image0) * rows + f
  if (i >= IMAGES * params.rows) { return; }
  var v = 0.0;
  for (var j = 0u; j < params.split; j = j + 1u) { v = v + partial[i * params.split + j]; }
  let o = params.rowBase + i % params.rows;
  y[(params.image0 + i / params.rows) * params.o + o] = finish(v + bias[o]);
}
