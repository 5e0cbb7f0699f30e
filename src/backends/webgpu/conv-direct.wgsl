// Convolution without workgroup memory or barriers, the same sum as conv.wgsl:
//     y[oc, p] = bias[oc] + Σ_k w[oc, k] · x(k, p),   k = (ci, ky, kx) in that order
// Each invocation owns 8 output channels x 4 pixels and reads its operands straight from the
// storage buffers, leaving reuse to the caches. This is what a CPU-backed adapter wants: lavapipe
// and SwiftShader run a workgroup's invocations as SIMD lanes of CPU threads, and every
// workgroupBarrier suspends and resumes each of them (conv.wgsl's tiling pays two per 16 k), while
// the CPU's caches already hold the tile a GPU would stage by hand: on lavapipe this kernel takes
// about half conv.wgsl's time (bench/webgpu-ladder.ts). On a GPU, conv.wgsl is the one to use.
// Measured there too: the loads, gathers across SIMD lanes, are two thirds of the time; smaller
// blocks (4 x 4, 4 x 2) and an early exit dropped for uniform weight loads were no faster.
//
// The weights are packed at load as [group][channel block of 8][k][8] (zeros past the group's last
// channel), so an invocation reads its 8 channels' weights at one k as two adjacent vec4s. Each
// output is one fma chain over k in order, the chain conv.wgsl computes, so the two kernels agree
// bit for bit wherever the compiler fuses alike, and a channel's result does not depend on which
// block or device computes it.

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
@group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>; // packed, see above
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const PIXELS: u32 = 4u; // per invocation, unrolled by hand below

// x: 64 pixel blocks of 4; y: channel blocks of 8; z: image x group
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
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
        let a = weight[wAt];
        let b = weight[wAt + 1u];
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
