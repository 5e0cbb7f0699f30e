// Winograd convolution F(2x2, r x r) for stride-1 convs with r = 3 or 5 (Lavin & Gray, 2015): each
// 2x2 block of outputs comes from one t x t input tile (t = r + 1) as
//     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
// so the t² element-wise products replace r²·4 multiply-adds: 16 for 36 (r = 3), 36 for 100
// (r = 5). Summed over input channels, each of the t² products is a GEMM:
//     M[ξν] (o x tiles) = U[ξν] (o x c) · V[ξν] (c x tiles)
// with U = G g Gᵀ transformed and packed once at load (src/backends/wasm/winograd.ts) and V = Bᵀ d B
// made per call. Bᵀ and Aᵀ are written out below as additions for the interpolation points the
// host derives G from, (0, ±1) for r = 3 and (0, ±1, ±2) for r = 5; the conv tests would fail if
// the two ever disagreed.
//
// Work: the n·groups·ceil(tiles/8) tile panels, split into `parts` contiguous shares, taken up to
// CHUNK_PANELS at a time so each U[ξν] panel is reused over 32 tiles while it is in cache.
import { EDGE_BYTES, gemmTile, MR, NR, ZEROS } from './gemm';
import { padMaps } from './conv';

const CHUNK_PANELS: i32 = 4;

/** Side of the zero-padded input that whole tiles cover: 2·ceil(out/2) + r - 1. */
@inline
function coveredSize(out: i32, r: i32): i32 {
  return 2 * ((out + 1) >> 1) + r - 1;
}

/** Byte offset in a padded map of tile q's top-left input. */
@inline
function tileOffset(q: i32, tilesX: i32, wp: i32): usize {
  const ty = q / tilesX;
  return <usize>(2 * (ty * wp + q - ty * tilesX)) << 2;
}

/** Scratch floats one worker needs: padded maps of one group, then V and M for one chunk. */
export function winogradScratchFloats(cg: i32, og: i32, oh: i32, ow: i32, r: i32): i32 {
  const t = r + 1;
  const tilesMax = CHUNK_PANELS * NR;
  return cg * coveredSize(oh, r) * coveredSize(ow, r) + t * t * (cg + og) * tilesMax;
}

/**
 * tmp[k][col] (t x t vectors) = the input at row k, column col of four tiles, one per lane: lane
 * l's tile starts at d + o_l, rows `stride` floats apart. When the four are side by side in one
 * row of tiles (`adjacent`), two loads and a shuffle fetch each vector instead of four loads.
 */
@inline
function gatherTiles(d: usize, o0: usize, o1: usize, o2: usize, o3: usize, adjacent: bool, stride: i32, t: i32, tmp: usize): void {
  for (let k = 0; k < t; k++) {
    for (let col = 0; col < t; col++) {
      const at = d + (<usize>(k * stride + col) << 2);
      let dv: v128;
      if (adjacent) {
        dv = v128.shuffle<f32>(v128.load(at + o0), v128.load(at + o0, 16), 0, 2, 4, 6);
      } else {
        dv = f32x4.splat(load<f32>(at + o0));
        dv = f32x4.replace_lane(dv, 1, load<f32>(at + o1));
        dv = f32x4.replace_lane(dv, 2, load<f32>(at + o2));
        dv = f32x4.replace_lane(dv, 3, load<f32>(at + o3));
      }
      v128.store(tmp + (<usize>(k * t + col) << 4), dv);
    }
  }
}

/**
 * V = Bᵀ d B for four tiles at once, one per lane (r = 3, t = 4; tiles as in gatherTiles). With
 * the points (0, 1, -1) Bᵀ's rows are
 * [-1 0 1 0], [0 1 1 0], [0 -1 1 0], [0 -1 0 1]: additions only. The 16 results go to out,
 * `outStep` bytes apart; tmp holds 16 vectors.
 */
@inline
function inputTransform4x4(d: usize, o0: usize, o1: usize, o2: usize, o3: usize, adjacent: bool, stride: i32, tmp: usize, out: usize, outStep: usize): void {
  gatherTiles(d, o0, o1, o2, o3, adjacent, stride, 4, tmp);
  // combine down the columns, in place, then along the rows into out
  for (let col = 0; col < 4; col++) {
    const c = tmp + (<usize>col << 4);
    const d0 = v128.load(c), d1 = v128.load(c, 64), d2 = v128.load(c, 128), d3 = v128.load(c, 192);
    v128.store(c, f32x4.sub(d2, d0));
    v128.store(c, f32x4.add(d1, d2), 64);
    v128.store(c, f32x4.sub(d2, d1), 128);
    v128.store(c, f32x4.sub(d3, d1), 192);
  }
  for (let i = 0; i < 4; i++) {
    const r = tmp + (<usize>i << 6);
    const t0 = v128.load(r), t1 = v128.load(r, 16), t2 = v128.load(r, 32), t3 = v128.load(r, 48);
    const row = out + <usize>(i * 4) * outStep;
    v128.store(row, f32x4.sub(t2, t0));
    v128.store(row + outStep, f32x4.add(t1, t2));
    v128.store(row + 2 * outStep, f32x4.sub(t2, t1));
    v128.store(row + 3 * outStep, f32x4.sub(t3, t1));
  }
}

/** The four output vectors of four tiles into tmp (row-major), ReLU'd when asked (NaN -> 0, as the reference). */
@inline
function storeOutputs(tmp: usize, y00: v128, y01: v128, y10: v128, y11: v128, relu: bool): void {
  if (relu) {
    const zero = f32x4.splat(0);
    y00 = f32x4.pmax(zero, y00);
    y01 = f32x4.pmax(zero, y01);
    y10 = f32x4.pmax(zero, y10);
    y11 = f32x4.pmax(zero, y11);
  }
  v128.store(tmp, y00);
  v128.store(tmp, y01, 16);
  v128.store(tmp, y10, 32);
  v128.store(tmp, y11, 48);
}

/**
 * The 2 x 2 outputs Aᵀ m A + bias of four tiles at once (r = 3), ReLU when asked: m's 16 elements
 * are vectors `rowFloats` floats apart; Aᵀ's rows are [1 1 1 0] and [0 1 -1 1]. Results go to tmp
 * (4 vectors, row-major).
 */
@inline
function outputTransform4x4(m: usize, rowFloats: i32, tmp: usize, bias: v128, relu: bool): void {
  const step = <usize>rowFloats << 2;
  let y00 = bias, y01 = bias, y10 = bias, y11 = bias;
  for (let col = 0; col < 4; col++) {
    const m0 = v128.load(m + <usize>col * step);
    const m1 = v128.load(m + <usize>(4 + col) * step);
    const m2 = v128.load(m + <usize>(8 + col) * step);
    const m3 = v128.load(m + <usize>(12 + col) * step);
    const r0 = f32x4.add(f32x4.add(m0, m1), m2); // Aᵀ row 0 down this column
    const r1 = f32x4.add(f32x4.sub(m1, m2), m3); // Aᵀ row 1
    // then across: column weights [1 1 1 0] for output column 0, [0 1 -1 1] for column 1
    if (col < 3) {
      y00 = f32x4.add(y00, r0);
      y10 = f32x4.add(y10, r1);
    }
    if (col == 1 || col == 3) {
      y01 = f32x4.add(y01, r0);
      y11 = f32x4.add(y11, r1);
    } else if (col == 2) {
      y01 = f32x4.sub(y01, r0);
      y11 = f32x4.sub(y11, r1);
    }
  }
  storeOutputs(tmp, y00, y01, y10, y11, relu);
}

/**
 * The 6-point input combination of r = 5 with the host's points (0, ±1, ±2): Bᵀ rows
 * [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0], [0 -2 -1 2 1 0], [0 2 -1 -2 1 0], [0 4 0 -5 0 1]
 * applied to the six vectors at p, `step` bytes apart, written back in place.
 */
@inline
function combine6(p: usize, step: usize): void {
  const d0 = v128.load(p), d1 = v128.load(p + step), d2 = v128.load(p + 2 * step);
  const d3 = v128.load(p + 3 * step), d4 = v128.load(p + 4 * step), d5 = v128.load(p + 5 * step);
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2);
  const a = f32x4.sub(d4, f32x4.mul(four, d2)); // d4 - 4 d2
  const b = f32x4.sub(d3, f32x4.mul(four, d1)); // d3 - 4 d1
  const c = f32x4.sub(d4, d2); //                  d4 - d2
  const e = f32x4.mul(two, f32x4.sub(d3, d1)); //  2 (d3 - d1)
  v128.store(p, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  v128.store(p + step, f32x4.add(a, b));
  v128.store(p + 2 * step, f32x4.sub(a, b));
  v128.store(p + 3 * step, f32x4.add(c, e));
  v128.store(p + 4 * step, f32x4.sub(c, e));
  v128.store(p + 5 * step, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

/** As inputTransform4x4 for r = 5 (t = 6): gather, combine6 down each column, then along each row into out. */
@inline
function inputTransform4x6(d: usize, o0: usize, o1: usize, o2: usize, o3: usize, adjacent: bool, stride: i32, tmp: usize, out: usize, outStep: usize): void {
  gatherTiles(d, o0, o1, o2, o3, adjacent, stride, 6, tmp);
  for (let col = 0; col < 6; col++) combine6(tmp + (<usize>col << 4), 96);
  for (let i = 0; i < 6; i++) {
    const r = tmp + (<usize>(i * 6) << 4);
    combine6(r, 16);
    for (let j = 0; j < 6; j++) v128.store(out + <usize>(i * 6 + j) * outStep, v128.load(r + (<usize>j << 4)));
  }
}

/** As outputTransform4x4 for r = 5: Aᵀ's rows are [1 1 1 1 1 0] and [0 1 -1 2 -2 1]. */
@inline
function outputTransform4x6(m: usize, rowFloats: i32, tmp: usize, bias: v128, relu: bool): void {
  const step = <usize>rowFloats << 2;
  const two = f32x4.splat(2);
  let y00 = bias, y01 = bias, y10 = bias, y11 = bias;
  for (let col = 0; col < 6; col++) {
    const m0 = v128.load(m + <usize>col * step);
    const m1 = v128.load(m + <usize>(6 + col) * step);
    const m2 = v128.load(m + <usize>(12 + col) * step);
    const m3 = v128.load(m + <usize>(18 + col) * step);
    const m4 = v128.load(m + <usize>(24 + col) * step);
    const m5 = v128.load(m + <usize>(30 + col) * step);
    const r0 = f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), m4);
    const r1 = f32x4.add(f32x4.add(f32x4.sub(m1, m2), f32x4.mul(two, f32x4.sub(m3, m4))), m5);
    // across: [1 1 1 1 1 0] for output column 0, [0 1 -1 2 -2 1] for column 1
    if (col < 5) {
      y00 = f32x4.add(y00, r0);
      y10 = f32x4.add(y10, r1);
    }
    if (col == 1 || col == 5) {
      y01 = f32x4.add(y01, r0);
      y11 = f32x4.add(y11, r1);
    } else if (col == 2) {
      y01 = f32x4.sub(y01, r0);
      y11 = f32x4.sub(y11, r1);
    } else if (col == 3) {
      y01 = f32x4.add(y01, f32x4.mul(two, r0));
      y11 = f32x4.add(y11, f32x4.mul(two, r1));
    } else if (col == 4) {
      y01 = f32x4.sub(y01, f32x4.mul(two, r0));
      y11 = f32x4.sub(y11, f32x4.mul(two, r1));
    }
  }
  storeOutputs(tmp, y00, y01, y10, y11, relu);
}

/**
 * x [n, c, h, w] -> y [n, o, oh, ow] for a stride-1 r x r conv over the input with `top` rows and
 * `left` columns of zeros before it (and zeros past it, as far as the tiles reach). `packed` holds,
 * per group, the t² matrices U[ξν] as A panels [cg x MR] (no biases); `bias` the o biases.
 */
export function winograd(
  x: usize, packed: usize, bias: usize, y: usize, scratch: usize, edges: usize,
  n: i32, c: i32, h: i32, w: i32, o: i32, r: i32, top: i32, left: i32, groups: i32, oh: i32, ow: i32,
  relu: bool, part: i32, parts: i32,
): void {
  const t = r + 1;
  const tt = t * t;
  const cg = c / groups;
  const og = o / groups;
  const hp = coveredSize(oh, r);
  const wp = coveredSize(ow, r);
  const tilesX = (ow + 1) >> 1;
  const tiles = tilesX * ((oh + 1) >> 1);
  const panels = (tiles + NR - 1) / NR;
  const panelsO = (og + MR - 1) / MR;
  const chunkTiles = CHUNK_PANELS * NR;
  const groupFloats = tt * panelsO * MR * cg;

  // this worker's scratch: [padded maps][V: t² x chunk panels x (cg x 8)][M: t² x og x chunk tiles]
  const padded = scratch + (<usize>part * winogradScratchFloats(cg, og, oh, ow, r) << 2);
  const v = padded + (<usize>cg * hp * wp << 2);
  const mm = v + (<usize>tt * cg * chunkTiles << 2);
  const edge = edges + <usize>part * EDGE_BYTES; // gemmTile's partial tiles, and the transforms' temporaries
  const tmp = edge;

  let current = -1;
  let u = <i32>((<i64>n * groups * panels * part) / parts);
  const end = <i32>((<i64>n * groups * panels * (part + 1)) / parts);
  while (u < end) {
    const ng = u / panels;
    const j0 = u - ng * panels;
    const j1 = min(min(j0 + CHUNK_PANELS, panels), j0 + end - u);
    const image = ng / groups;
    const g = ng - image * groups;
    if (ng != current) padMaps(x + (<usize>(image * c + g * cg) * h * w << 2), padded, cg, h, w, top, left, hp, wp);
    current = ng;
    const q0 = j0 * NR;
    const count = (j1 - j0) * NR; // tiles in this chunk, the last panel padded with empty tiles

    // V[ξν][panel][ci][lane] = (Bᵀ d B)[ξν] of tile q0 + 8·panel + lane, input map ci, four
    // tiles at a time; tiles past the last repeat it (their columns of M are never read)
    const vStep = <usize>cg * count << 2; // from one ξν to the next
    for (let q = 0; q < count; q += 4) {
      const o0 = tileOffset(min(q0 + q, tiles - 1), tilesX, wp);
      const o1 = tileOffset(min(q0 + q + 1, tiles - 1), tilesX, wp);
      const o2 = tileOffset(min(q0 + q + 2, tiles - 1), tilesX, wp);
      const o3 = tileOffset(min(q0 + q + 3, tiles - 1), tilesX, wp);
      const out = v + ((<usize>(q >> 3) * cg * NR + (q & 7)) << 2);
      const adjacent = o1 == o0 + 8 && o2 == o0 + 16 && o3 == o0 + 24;
      for (let ci = 0; ci < cg; ci++) {
        const d = padded + (<usize>ci * hp * wp << 2);
        if (t == 4) inputTransform4x4(d, o0, o1, o2, o3, adjacent, wp, tmp, out + (<usize>ci * NR << 2), vStep);
        else inputTransform4x6(d, o0, o1, o2, o3, adjacent, wp, tmp, out + (<usize>ci * NR << 2), vStep);
      }
    }

    // M[ξν] (og x count) = U[ξν] · V[ξν], one GEMM per element of the tile; M is stored as
    // [oc][ξν][tile] (C's rows tt·count apart) so the output transform reads it contiguously
    const uGroup = packed + (<usize>g * groupFloats << 2);
    const mRow = tt * count;
    for (let e = 0; e < tt; e++) {
      const ue = uGroup + (<usize>e * panelsO * MR * cg << 2);
      const ve = v + (<usize>e * cg * count << 2);
      for (let po = 0; po < panelsO; po++) {
        for (let j = 0; j < count; j += NR) {
          gemmTile(ue + (<usize>po * MR * cg << 2), ve + (<usize>j * cg << 2), cg, mm + ((<usize>po * MR * mRow + e * count + j) << 2), mRow, min(MR, og - po * MR), NR, ZEROS, ZEROS, false, edge);
        }
      }
    }

    // y block = Aᵀ M A + bias for four tiles at a time (one per lane), cropped at the output's edge
    const yGroup = y + (<usize>(image * o + g * og) * oh * ow << 2);
    for (let oc = 0; oc < og; oc++) {
      const bias4 = v128.load32_splat(bias + (<usize>(g * og + oc) << 2));
      const yMap = yGroup + (<usize>oc * oh * ow << 2);
      const mOc = mm + (<usize>oc * mRow << 2);
      for (let q = 0; q < count && q0 + q < tiles; q += 4) {
        if (t == 4) outputTransform4x4(mOc + (<usize>q << 2), count, tmp, bias4, relu);
        else outputTransform4x6(mOc + (<usize>q << 2), count, tmp, bias4, relu);
        for (let l = 0; l < 4 && q0 + q + l < tiles; l++) {
          const ty = (q0 + q + l) / tilesX;
          const tx = q0 + q + l - ty * tilesX;
          for (let i = 0; i < 2 && 2 * ty + i < oh; i++) {
            for (let j = 0; j < 2 && 2 * tx + j < ow; j++) {
              store<f32>(yMap + ((<usize>(2 * ty + i) * ow + 2 * tx + j) << 2), load<f32>(tmp + ((<usize>(i * 2 + j) << 4) + (<usize>l << 2))));
            }
          }
        }
      }
    }
    u += j1 - j0;
  }
}
