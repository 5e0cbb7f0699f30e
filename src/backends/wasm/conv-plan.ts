// How the wasm backend computes each conv. A strided conv is first rewritten as a stride-1 conv on
// a space-to-depth copy of its input (each s x s block of pixels becomes s² channels, the kernel
// ceil(k/s) x ceil(k/s) with zeros where it runs past k), when that makes it a 3x3 or 5x5 conv:
// then it goes through Winograd like the others. AlexNet's conv1 (11x11, stride 4) becomes a 3x3
// conv over 48 channels: 19 % more multiply-adds before Winograd, 2.25x fewer after.
import type { GraphNode, OpOf, Window } from '../../graph/index.js';
import { windowOf } from '../../graph/index.js';
import type { Tensor } from '../../tensor.js';
import { tensor } from '../../tensor.js';
import { usesWinograd } from './winograd.js';

export interface ConvPlan {
  /** The conv the kernels run, on an input of [c, h, w], and its window. */
  readonly op: OpOf<'conv2d'>;
  readonly window: Window;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** Set when the kernels read a space-to-depth copy of the node's input, made with this stride and padding before it. */
  readonly spaceToDepth?: { readonly stride: number; readonly top: number; readonly left: number };
  readonly winograd: boolean;
}

export function planConv(node: GraphNode & { op: OpOf<'conv2d'> }): ConvPlan {
  const { op } = node;
  const [c, h, w] = node.inputShapes[0];
  const win = windowOf(op);
  const s = win.sh;
  if (s > 1 && win.sw === s && win.kw === win.kh) {
    const rewritten: OpOf<'conv2d'> = { ...op, kernel: Math.ceil(win.kh / s), stride: 1, pad: 0 };
    if (usesWinograd(rewritten)) {
      const spaceToDepth = { stride: s, top: win.top, left: win.left };
      return { op: rewritten, window: windowOf(rewritten), c: c * s * s, h: Math.ceil((h + win.top + win.bottom) / s), w: Math.ceil((w + win.left + win.right) / s), spaceToDepth, winograd: true };
    }
  }
  return { op, window: win, c, h, w, winograd: usesWinograd(op) };
}

/** The weights of the rewritten conv: w'[o][ci·s² + dy·s + dx][ky][kx] = w[o][ci][ky·s + dy][kx·s + dx], 0 past the kernel. */
export function spaceToDepthWeights(w: Tensor, plan: ConvPlan): Tensor {
  if (!plan.spaceToDepth) return w;
  const s = plan.spaceToDepth.stride;
  const [o, cg, k] = w.shape;
  const kk = plan.window.kh;
  const out = tensor([o, cg * s * s, kk, kk]);
  for (let oc = 0; oc < o; oc++)
    for (let ci = 0; ci < cg; ci++)
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const channel = ci * s * s + (ky % s) * s + (kx % s);
          out.data[((oc * cg * s * s + channel) * kk + Math.floor(ky / s)) * kk + Math.floor(kx / s)] = w.data[((oc * cg + ci) * k + ky) * k + kx];
        }
  return out;
}
