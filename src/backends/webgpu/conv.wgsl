// Convolution as an implicit GEMM, per (image, group):
//     y[oc, p] = bias[oc] + Σ_k w[oc, k] · col[k, p],   k = (ci, ky, kx), p = an output pixel
// where col, the im2col matrix, is never stored: the loader computes each value's input address.
// Tiling: a workgroup of 16 x 16 invocations owns a 64 (output channels) x 64 (pixels) tile of y,
// each invocation a 4 x 4 block of it. K goes in steps of 16 through workgroup memory: 64 x 16
// weights and 16 x 64 input values, 4 of each loaded per invocation (both 4 KiB, within the 16 KiB
// every device offers). Both tiles are stored k-major, so an invocation reads its 4 channels and
// its 4 pixels as one vec4 each, then does 16 multiply-adds. Workgroups: x over pixel tiles, y over
// channel tiles of a group, z over image x group. The sum over k runs in the same order for every
// output wherever it sits in a tile, so splitting the output channels over devices changes nothing.

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
@group(0) @binding(2) var<storage, read> weight: array<f32>;
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
