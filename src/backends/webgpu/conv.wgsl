// Convolution, three ways: entry points over the same parameters and bindings, each computing
//     y[oc, p] = bias[oc] + Σ_k w[oc, k] · x(k, p),   k = (ci, ky, kx) in that order, p an output pixel
// as one fma chain over k in that order, so a channel's result does not depend on which tile,
// block or device computes it (splitting the output channels over devices changes nothing), and
// the three agree wherever the compiler fuses alike. The host picks one by the adapter
// (WebGpuOptions.kernels).
//
// `main`, the `tiled` kernel (a GPU's): an implicit GEMM per (image, group), the im2col matrix
// never stored: the loader computes each value's input address. A workgroup of 16 x 16
// invocations owns a 64 (output channels) x 64 (pixels) tile of y, each invocation a 4 x 4 block of
// it. K goes in steps of 16 through workgroup memory: 64 x 16 weights and 16 x 64 input values, 4
// of each loaded per invocation (both 4 KiB, within the 16 KiB every device offers). Both tiles are
// stored k-major, so an invocation reads its 4 channels and its 4 pixels as one vec4 each, then
// does 16 multiply-adds. Workgroups: x over pixel tiles, y over channel tiles of a group, z over
// image x group.
//
// `direct` (a CPU-backed adapter's): no workgroup memory or barriers. Each invocation owns 8 output
// channels x 4 pixels and reads its operands straight from the storage buffers, leaving reuse to
// the caches. lavapipe and SwiftShader run a workgroup's invocations as SIMD lanes of CPU threads,
// and every workgroupBarrier suspends and resumes each of them (`main` pays two per 16 k), while
// the CPU's caches already hold the tile a GPU would stage by hand: on lavapipe this kernel takes
// about half `main`'s time (bench/webgpu-ladder.ts). Measured there too: the loads, gathers across
// SIMD lanes, are two thirds of the time; smaller blocks (4 x 4, 4 x 2) and an early exit dropped
// for uniform weight loads were no faster. Its weights are packed at load as
// [group][channel block of 8][k][8] (zeros past the group's last channel), so an invocation reads
// its 8 channels' weights at one k as two adjacent vec4s.
//
// `naive`: one output per invocation, one multiply-add at a time, every operand read from storage:
// the kernel ladder's first rung, the plain loop the others are measured against.

struct Params {
  c: u32, h: u32, w: u32,           // input maps
  o: u32, oh: u32, ow: u32,         // output maps
  kh: u32, kw: u32,                 // the window: kernel, stride, zero padding before each axis
  sh: u32, sw: u32,
  top: u32, left: u32,
  groups: u32, relu: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>; // [O][C / groups][kh][kw] (main, naive)
@group(0) @binding(2) var<storage, read> packed: array<vec4<f32>>; // direct: packed, see above
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const TILE: u32 = 64u;
const KT: u32 = 16u;
var<workgroup> tileW: array<vec4<f32>, 256>; // [k][16 groups of 4 channels]
var<workgroup> tileX: array<vec4<f32>, 256>; // [k][16 groups of 4 pixels]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let cg = params.c / params.groups;
  let og = params.o / params.groups;
  let kk = params.kh * params.kw;
  let kTotal = cg * kk;
  let pTotal = params.oh * params.ow;
  let image = wg.z / params.groups;
  let group = wg.z % params.groups;
  let oc0 = wg.y * TILE;
  let p0 = wg.x * TILE;
  let t = lid.y * 16u + lid.x; // 0..255
  let xBase = (image * params.c + group * cg) * params.h * params.w;

  var acc: array<vec4<f32>, 4>; // acc[j][i]: pixel j, channel i of this invocation's block
  for (var k0 = 0u; k0 < kTotal; k0 = k0 + KT) {
    // weights: invocation t loads channel (t % 64) at k0 + 4·(t / 64) .. +3
    for (var e = 0u; e < 4u; e = e + 1u) {
      let kl = (t / 64u) * 4u + e;
      let ocl = t % 64u;
      let k = k0 + kl;
      let oc = oc0 + ocl;
      var v = 0.0;
      if (k < kTotal && oc < og) { v = weight[(group * og + oc) * kTotal + k]; }
      tileW[kl * 16u + ocl / 4u][ocl % 4u] = v;
    }
    // inputs: invocation t loads pixel (t % 64) at k0 + 4·(t / 64) .. +3, through the conv's addressing
    for (var e = 0u; e < 4u; e = e + 1u) {
      let kl = (t / 64u) * 4u + e;
      let pl = t % 64u;
      let k = k0 + kl;
      let p = p0 + pl;
      var v = 0.0;
      if (k < kTotal && p < pTotal) {
        let ci = k / kk;
        let r = k % kk;
        let iy = i32((p / params.ow) * params.sh + r / params.kw) - i32(params.top);
        let ix = i32((p % params.ow) * params.sw + r % params.kw) - i32(params.left);
        if (iy >= 0 && iy < i32(params.h) && ix >= 0 && ix < i32(params.w)) {
          v = x[xBase + (ci * params.h + u32(iy)) * params.w + u32(ix)];
        }
      }
      tileX[kl * 16u + pl / 4u][pl % 4u] = v;
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
    let p = p0 + lid.x * 4u + j;
    for (var i = 0u; i < 4u; i = i + 1u) {
      let oc = oc0 + lid.y * 4u + i;
      if (p < pTotal && oc < og) {
        var v = acc[j][i] + bias[group * og + oc];
        if (params.relu != 0u && !(v > 0.0)) { v = 0.0; }
        y[((image * params.o + group * og + oc) * pTotal) + p] = v;
      }
    }
  }
}

const PIXELS: u32 = 4u; // per invocation, unrolled by hand below

// x: 64 pixel blocks of 4; y: channel blocks of 8; z: image x group
@compute @workgroup_size(64)
fn direct(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let id = vec3<u32>(wg.x * 64u + lid.x, wg.y, wg.z); // (pixel block, channel block, image x group)
  let cg = params.c / params.groups;
  let og = params.o / params.groups;
  let blocks = (og + 7u) / 8u;
  let pTotal = params.oh * params.ow;
  if (id.x * PIXELS >= pTotal) { return; } // whole SIMD groups past the end are skipped
  let image = id.z / params.groups;
  let group = id.z % params.groups;
  let kTotal = cg * params.kh * params.kw;
  let plane = params.h * params.w;
  let xBase = (image * params.c + group * cg) * plane;

  // each pixel's window corner in the input (the last block may be short: its missing pixels
  // repeat the last one, and are not written)
  let p0 = id.x * PIXELS;
  let c0 = corner(min(p0, pTotal - 1u));
  let c1 = corner(min(p0 + 1u, pTotal - 1u));
  let c2 = corner(min(p0 + 2u, pTotal - 1u));
  let c3 = corner(min(p0 + 3u, pTotal - 1u));

  // one variable per pixel, not an array: a loop-indexed array lives in memory on a CPU-backed adapter
  var lo0: vec4<f32>; var lo1: vec4<f32>; var lo2: vec4<f32>; var lo3: vec4<f32>; // channels 0..3 at pixels 0..3
  var hi0: vec4<f32>; var hi1: vec4<f32>; var hi2: vec4<f32>; var hi3: vec4<f32>; // channels 4..7
  var wAt = ((group * blocks + id.y) * kTotal) * 2u;
  for (var ci = 0u; ci < cg; ci = ci + 1u) {
    let xc = xBase + ci * plane;
    for (var ky = 0u; ky < params.kh; ky = ky + 1u) {
      for (var kx = 0u; kx < params.kw; kx = kx + 1u) {
        let a = packed[wAt];
        let b = packed[wAt + 1u];
        wAt = wAt + 2u;
        let off = vec2<i32>(i32(ky), i32(kx));
        let v0 = vec4<f32>(tap(xc, c0 + off));
        let v1 = vec4<f32>(tap(xc, c1 + off));
        let v2 = vec4<f32>(tap(xc, c2 + off));
        let v3 = vec4<f32>(tap(xc, c3 + off));
        lo0 = fma(a, v0, lo0); hi0 = fma(b, v0, hi0);
        lo1 = fma(a, v1, lo1); hi1 = fma(b, v1, hi1);
        lo2 = fma(a, v2, lo2); hi2 = fma(b, v2, hi2);
        lo3 = fma(a, v3, lo3); hi3 = fma(b, v3, hi3);
      }
    }
  }
  let base = (image * params.o + group * og + id.y * 8u) * pTotal;
  let channels = min(8u, og - id.y * 8u);
  store(base, p0, pTotal, channels, group * og + id.y * 8u, lo0, hi0);
  store(base, p0 + 1u, pTotal, channels, group * og + id.y * 8u, lo1, hi1);
  store(base, p0 + 2u, pTotal, channels, group * og + id.y * 8u, lo2, hi2);
  store(base, p0 + 3u, pTotal, channels, group * og + id.y * 8u, lo3, hi3);
}

/** Output pixel p's window corner (row, column) in the input, padding subtracted. */
fn corner(p: u32) -> vec2<i32> {
  return vec2<i32>(i32((p / params.ow) * params.sh) - i32(params.top), i32((p % params.ow) * params.sw) - i32(params.left));
}

/** The input at (row, column) of the channel plane starting at xc; zero in the padding. */
fn tap(xc: u32, at: vec2<i32>) -> f32 {
  let inside = at.x >= 0 && at.x < i32(params.h) && at.y >= 0 && at.y < i32(params.w);
  let clamped = vec2<u32>(clamp(at, vec2<i32>(0), vec2<i32>(i32(params.h) - 1, i32(params.w) - 1)));
  return select(0.0, x[xc + clamped.x * params.w + clamped.y], inside);
}

/** Pixel p of 8 channels (4 in lo, 4 in hi) from channel `bias0` on: bias, sum, ReLU. */
fn store(base: u32, p: u32, pTotal: u32, channels: u32, bias0: u32, lo: vec4<f32>, hi: vec4<f32>) {
  if (p >= pTotal) { return; }
  for (var i = 0u; i < channels; i = i + 1u) {
    var v = bias[bias0 + i];
    if (i < 4u) { v = v + lo[i]; } else { v = v + hi[i - 4u]; }
    if (params.relu != 0u && !(v > 0.0)) { v = 0.0; }
    y[base + i * pTotal + p] = v;
  }
}

// x: output pixels (64 per workgroup); y: output channels; z: images
@compute @workgroup_size(64)
fn naive(@builtin(global_invocation_id) id: vec3<u32>) {
  let pTotal = params.oh * params.ow;
  if (id.x >= pTotal) { return; }
  let oc = id.y;
  let cg = params.c / params.groups;
  let group = oc / (params.o / params.groups);
  let oy = i32((id.x / params.ow) * params.sh) - i32(params.top);
  let ox = i32((id.x % params.ow) * params.sw) - i32(params.left);
  var acc = 0.0;
  var k = oc * cg * params.kh * params.kw;
  for (var ci = 0u; ci < cg; ci = ci + 1u) {
    let plane = ((id.z * params.c) + group * cg + ci) * params.h * params.w;
    for (var ky = 0u; ky < params.kh; ky = ky + 1u) {
      for (var kx = 0u; kx < params.kw; kx = kx + 1u) {
        let iy = oy + i32(ky);
        let ix = ox + i32(kx);
        if (iy >= 0 && iy < i32(params.h) && ix >= 0 && ix < i32(params.w)) {
          acc = fma(weight[k], x[plane + u32(iy) * params.w + u32(ix)], acc);
        }
        k = k + 1u;
      }
    }
  }
  var v = acc + bias[oc];
  if (params.relu != 0u && !(v > 0.0)) { v = 0.0; }
  y[(id.z * params.o + oc) * pTotal + id.x] = v;
}
