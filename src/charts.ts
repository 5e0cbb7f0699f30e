// Charts as Vega-Lite specs, rendered headless: to SVG by Vega (no browser, no canvas), to PNG by
// resvg. The training curves and the benchmark's charts are specs, so a page can draw the same spec
// live (vega-embed) and files and page agree. Chosen over hand-drawn SVG for its axes, scales,
// legends and text layout, which a hand-drawn chart must estimate.
import type { TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

/** Fonts fixed, so the same spec gives the same SVG bytes on every machine (Vega estimates text width without a canvas). */
const CONFIG = { font: 'DejaVu Sans, Arial, sans-serif', background: 'white', padding: 8 } as const;

export async function renderSvg(spec: ChartSpec): Promise<string> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const view = new vega.View(vega.parse(compile({ ...spec, config: { ...CONFIG, ...spec.config } } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A PNG of the SVG at `scale` times its size (Node: resvg, with the system's fonts). */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}
