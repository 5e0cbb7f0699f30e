// Convolution, one output per invocation, every operand read from storage: the first rung of the
// kernel ladder (bench/webgpu-ladder.ts), the plain loop the faster kernels are measured against.
// The same weights layout and the same k order as conv.wgsl, one multiply-add at a time.

struct Params {
  c: u32, h: u32, w: u32,
  o: u32, oh: u32, ow: u32,
  kh: u32, kw: u32,
  sh: u32, sw: u32,
  top: u32, left: u32,
  groups: u32, relu: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>; // [O][C / groups][kh][kw]
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// x: output pixels (64 per workgroup); y: output channels; z: images
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
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
