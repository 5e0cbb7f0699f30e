// The network at a glance, as the README draws it: every layer a block, split into its two towers
// where the 2012 split halves it, each tower one device; the layers that read across the split
// drawn with crossing lines and their bytes. The layer shown is highlighted; a click goes to a layer.
import type { Graph } from '../src/graph/index.js';
import type { Partitioned } from '../src/partition/index.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Nodes drawn: the ones that change the numbers' shape or meaning (ReLU, dropout and flatten are folded into the block before). */
const FOLDED = new Set(['input', 'relu', 'dropout', 'flatten']);

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

/** The overview; `current` is the node whose cell is shown (a folded node highlights the block it is folded into). */
export function overview(graph: Graph, split: Partitioned | undefined, current: string | undefined, go: (node: string) => void, { transfers = false } = {}): SVGSVGElement {
  const blocks = graph.nodes.filter((n) => !FOLDED.has(n.op.type));
  // a folded node belongs to the block before it
  let owner = '';
  const blockOf = new Map<string, string>();
  for (const n of graph.nodes) {
    if (!FOLDED.has(n.op.type)) owner = n.name;
    blockOf.set(n.name, owner || blocks[0]?.name);
  }
  const [W, H, top] = [58, 30, 18];
  const height = top + 2 * H + 6 + (transfers ? 34 : 16);
  const root = svg('svg', { viewBox: `0 0 ${blocks.length * W + 4} ${height}`, class: 'overview', role: 'img', 'aria-label': 'the network, layer by layer, in two towers' });
  root.append(svg('text', { x: 2, y: 11, class: 'tower-label' }, split ? 'top: device 0 · bottom: device 1 · crossing lines: data between them' : 'the network, layer by layer'));
  blocks.forEach((node, i) => {
    const x = 2 + i * W;
    const placement = split?.layers.get(node.name);
    const sharded = placement?.kind === 'sharded';
    const here = current !== undefined && blockOf.get(current) === node.name;
    const g = svg('g', { class: `block${here ? ' current' : ''}`, 'data-node': node.name, tabindex: 0, role: 'link' });
    g.append(svg('title', {}, `${node.name}: ${node.op.type}, output [${node.shape.join(', ')}]${sharded ? ', halved over the two devices' : ''}`));
    if (sharded || !split) {
      g.append(svg('rect', { x, y: top, width: W - 10, height: H, rx: 3 }));
      if (split) g.append(svg('rect', { x, y: top + H + 6, width: W - 10, height: H, rx: 3 }));
    } else {
      g.append(svg('rect', { x, y: top, width: W - 10, height: 2 * H + 6, rx: 3, class: 'whole' }));
    }
    g.append(svg('text', { x: x + (W - 10) / 2, y: top + (split ? 2 * H + 6 : H) + 12, 'text-anchor': 'middle', class: 'name' }, node.name));
    g.addEventListener('click', () => go(node.name));
    g.addEventListener('keydown', (e) => e.key === 'Enter' && go(node.name));
    root.append(g);
    const crossing = split?.transfers.filter((t) => t.layer === node.name) ?? [];
    if (crossing.length && i > 0) {
      // the data of the layer before, read by both towers of this one
      const [x0, x1] = [x - 10, x];
      const [y0, y1] = [top + H / 2, top + H + 6 + H / 2];
      root.append(svg('path', { d: `M${x0},${y0} L${x1},${y1} M${x0},${y1} L${x1},${y0}`, class: 'crossing' }));
      if (transfers) {
        const bytes = crossing.reduce((s, t) => s + t.bytesPerSample, 0);
        root.append(svg('text', { x: x - 5, y: top + 2 * H + 6 + 28, 'text-anchor': 'middle', class: 'bytes', 'data-field': `crossing-${node.name}` }, `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`));
      }
    }
  });
  return root;
}
