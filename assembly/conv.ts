// Convolution as a GEMM per group: y[o, p] = bias[o] + Σ_k W[o, k] · col[k, p], k = (ci, ky, kx)
// over the group's input maps, p = an output pixel. The im2col matrix `col` is never built whole:
// pixels are taken a tile of TILE_PANELS x 8 at a time, written straight into packed-B panels in
// this worker's scratch, and every output-channel panel runs over them while they are in cache.
import { EDGE_BYTES, gemmTile, MR, NR, panelFloats, shareBegin, ZEROS } from './gemm';

/** Pixel panels per im2col tile: 8 x 8 = 64 pixels, K·64 floats (307 KB for conv2's K = 1200). */
const TILE_PANELS: i32 = 8;

/**
 * Scratch floats one worker needs: a padded copy of one group's maps ([hp, wp] each, when `padded`),
 * then one im2col tile of kh x kw windows.
 */
export function convScratchFloats(cg: i32, hp: i32, wp: i32, kh: i32, kw: i32, padded: bool): i32 {
  return (padded ? cg * hp * wp : 0) + cg * kh * kw * TILE_PANELS * NR;
}

/**
 * Copies cg maps [h, w] at x into dst as [hp, wp] maps with `top` rows and `left` columns of `fill`
 * above and left of the data and `fill` in the rest, so that im2col, the Winograd tiles and the
 * pools never bounds-check. Returns after one map when `maps` is 1.
 */
export function padMapsWith(x: usize, dst: usize, cg: i32, h: i32, w: i32, top: i32, left: i32, hp: i32, wp: i32, fill: f32): void {
  const floats = <usize>cg * hp * wp;
  if (fill == 0) memory.fill(dst, 0, floats << 2);
  else for (let i: usize = 0; i < floats; i++) store<f32>(dst + (i << 2), fill);
  // input past hp - top rows or wp - left columns feeds no output: leave it out (all of it, when the
  // windows reach only padding: a stride that jumps over a 1-pixel map from its leading padding)
  const rows = max(0, min(h, hp - top));
  const cols = max(0, min(w, wp - left));
  if (cols == 0) return;
  for (let m = 0; m < cg; m++) {
    for (let iy = 0; iy < rows; iy++) {
      memory.copy(dst + ((<usize>(m * hp + iy + top) * wp + left) << 2), x + (<usize>(m * h + iy) * w << 2), <usize>cols << 2);
    }
  }
}

/** padMapsWith zeros: the padding of a convolution. */
export function padMaps(x: usize, dst: usize, cg: i32, h: i32, w: i32, top: i32, left: i32, hp: i32, wp: i32): void {
  padMapsWith(x, dst, cg, h, w, top, left, hp, wp, 0);
}

/** Every one of `maps` maps padded with `fill` (padMapsWith), the maps split into shares: what a padded pool reads. */
export function padPlanes(x: usize, dst: usize, maps: i32, h: i32, w: i32, top: i32, left: i32, hp: i32, wp: i32, fill: f32, part: i32, parts: i32): void {
  const begin = shareBegin(maps, part, parts);
  const end = shareBegin(maps, part + 1, parts);
  if (begin < end) padMapsWith(x + (<usize>begin * h * w << 2), dst + (<usize>begin * hp * wp << 2), end - begin, h, w, top, left, hp, wp, fill);
}

/** Offset in a padded map of the top-left tap of output pixel q's window. */
@inline
function windowAt(q: i32, ow: i32, sh: i32, sw: i32, wp: i32): i32 {
  const oy = q / ow;
  return oy * sh * wp + (q - oy * ow) * sw;
}

/**
 * Writes the im2col panel of output pixels [q, q + 8) into dst ([k x 8], k = (ci, ky, kx)) from
 * cg padded maps [hp, wp] at src. Pixels at or past p read as 0. When the 8 pixels are adjacent in
 * one output row and the stride is 1, each row of the panel is 8 adjacent input values: two vector
 * copies; otherwise 8 gathered values.
 */
function im2colPanel(src: usize, dst: usize, cg: i32, hp: i32, wp: i32, kh: i32, kw: i32, sh: i32, sw: i32, ow: i32, p: i32, q: i32): void {
  const valid = min(NR, p - q);
  const last = q + valid - 1; // lanes past the end repeat the last pixel and are zeroed below
  const l0 = windowAt(q, ow, sh, sw, wp);
  const l1 = windowAt(min(q + 1, last), ow, sh, sw, wp);
  const l2 = windowAt(min(q + 2, last), ow, sh, sw, wp);
  const l3 = windowAt(min(q + 3, last), ow, sh, sw, wp);
  const l4 = windowAt(min(q + 4, last), ow, sh, sw, wp);
  const l5 = windowAt(min(q + 5, last), ow, sh, sw, wp);
  const l6 = windowAt(min(q + 6, last), ow, sh, sw, wp);
  const l7 = windowAt(min(q + 7, last), ow, sh, sw, wp);
  const adjacent = valid == NR && sw == 1 && l7 == l0 + 7;
  let out = dst;
  for (let ci = 0; ci < cg; ci++) {
    for (let ky = 0; ky < kh; ky++) {
      let at = src + ((<usize>(ci * hp + ky) * wp) << 2);
      for (let kx = 0; kx < kw; kx++) {
        if (adjacent) {
          const from = at + (<usize>l0 << 2);
          v128.store(out, v128.load(from));
          v128.store(out, v128.load(from, 16), 16);
        } else {
          store<f32>(out, load<f32>(at + (<usize>l0 << 2)));
          store<f32>(out, load<f32>(at + (<usize>l1 << 2)), 4);
          store<f32>(out, load<f32>(at + (<usize>l2 << 2)), 8);
          store<f32>(out, load<f32>(at + (<usize>l3 << 2)), 12);
          store<f32>(out, load<f32>(at + (<usize>l4 << 2)), 16);
          store<f32>(out, load<f32>(at + (<usize>l5 << 2)), 20);
          store<f32>(out, load<f32>(at + (<usize>l6 << 2)), 24);
          store<f32>(out, load<f32>(at + (<usize>l7 << 2)), 28);
        }
        at += 4;
        out += NR * 4;
      }
    }
  }
  if (valid < NR) {
    const k = cg * kh * kw;
    for (let i = 0; i < k; i++) for (let lane = valid; lane < NR; lane++) store<f32>(dst + ((<usize>i * NR + lane) << 2), 0);
  }
}

/**
 * x [n, c, h, w] -> y [n, o, oh, ow] with weights packed per group (groups x ceil((o/groups) /
 * MR) panels at `packed`), ReLU fused when `relu`. The window is kh x kw, moved by (sh, sw), over
 * the input padded by `top` rows and `left` columns (and as much below and right as the windows
 * reach: `padded` says whether there is any padding at all). The work is the n·groups·ceil(P/8)
 * pixel panels, split into `parts` contiguous shares; this call computes share `part`, using the
 * part-th convScratchFloats(...) block of scratch and the part-th EDGE_BYTES block of edges.
 */
export function conv2d(
  x: usize, packed: usize, y: usize, scratch: usize, edges: usize,
  n: i32, c: i32, h: i32, w: i32, o: i32, kh: i32, kw: i32, sh: i32, sw: i32, top: i32, left: i32, padded: bool, groups: i32, oh: i32, ow: i32,
  relu: bool, part: i32, parts: i32,
): void {
  const cg = c / groups;
  const og = o / groups;
  const k = cg * kh * kw;
  const p = oh * ow;
  // the padded maps cover exactly the windows' reach
  const hp = padded ? (oh - 1) * sh + kh : h;
  const wp = padded ? (ow - 1) * sw + kw : w;
  const panelsP = (p + NR - 1) / NR;
  const panelsO = (og + MR - 1) / MR;
  const groupBytes = <usize>panelsO * panelFloats(MR, k) << 2;
  const units = n * groups * panelsP;
  // this worker's scratch: [padded maps of the current (image, group)][im2col tile]
  const pad = scratch + (<usize>part * convScratchFloats(cg, hp, wp, kh, kw, padded) << 2);
  const tile = pad + (padded ? <usize>cg * hp * wp << 2 : 0);
  const edge = edges + <usize>part * EDGE_BYTES;
  let current = -1; // the (image, group) whose maps are in `pad`
  let u = shareBegin(units, part, parts);
  const end = shareBegin(units, part + 1, parts);
  while (u < end) {
    const ng = u / panelsP; // image * groups + group
    const j0 = u - ng * panelsP;
    const j1 = min(min(j0 + TILE_PANELS, panelsP), j0 + end - u);
    const image = ng / groups;
    const g = ng - image * groups;
    let maps = x + (<usize>(image * c + g * cg) * h * w << 2);
    if (padded) {
      if (ng != current) padMaps(maps, pad, cg, h, w, top, left, hp, wp);
      maps = pad;
    }
    current = ng;
    for (let j = j0; j < j1; j++) im2colPanel(maps, tile + (<usize>(j - j0) * k * NR << 2), cg, hp, wp, kh, kw, sh, sw, ow, p, j * NR);
    const yGroup = y + (<usize>(image * o + g * og) * p << 2);
    const wGroup = packed + <usize>g * groupBytes;
    for (let j = j0; j < j1; j++) {
      const b = tile + (<usize>(j - j0) * k * NR << 2);
      const cols = min(NR, p - j * NR);
      for (let po = 0; po < panelsO; po++) {
        const a = wGroup + (<usize>po * panelFloats(MR, k) << 2); // [MR biases][k x MR]
        const c0 = yGroup + ((<usize>po * MR * p + j * NR) << 2);
        gemmTile(a + (<usize>MR << 2), b, k, c0, p, min(MR, og - po * MR), cols, a, ZEROS, relu, edge);
      }
    }
    u += j1 - j0;
  }
}

/**
 * Space to depth, which turns a strided conv into a stride-1 one: x [n, c, h, w] with `top` rows
 * and `left` columns of zeros before it (and zeros past it) -> y [n, c·s², hs, ws],
 * y[ci·s² + dy·s + dx][Y][X] = x[ci][Y·s + dy - top][X·s + dx - left]. The n·c·s² maps of y are
 * split into shares.
 */
export function spaceToDepth(x: usize, y: usize, n: i32, c: i32, h: i32, w: i32, s: i32, top: i32, left: i32, hs: i32, ws: i32, part: i32, parts: i32): void {
  const maps = n * c * s * s;
  const end = shareBegin(maps, part + 1, parts);
  for (let m = shareBegin(maps, part, parts); m < end; m++) {
    const phase = m % (s * s);
    const dy = phase / s;
    const dx = phase - dy * s;
    const src = x + (<usize>(m / (s * s)) * h * w << 2); // map ci of image n: m / s² = n·c + ci
    let out = y + (<usize>m * hs * ws << 2);
    for (let row = 0; row < hs; row++) {
      const iy = row * s + dy - top;
      for (let col = 0; col < ws; col++) {
        const ix = col * s + dx - left;
        store<f32>(out, <u32>iy < <u32>h && <u32>ix < <u32>w ? load<f32>(src + ((<usize>iy * w + ix) << 2)) : 0);
        out += 4;
      }
    }
  }
}
