// The notebook page in a real browser: Debian's chromium, headless, driven by playwright-core. The
// page is built by `vite build` and served by a plain static server (no special headers), as a user
// would host it; the dev server gets a smoke test too. On WASM and on WebGPU (chromium's SwiftShader
// adapter), every cell is stepped through: each layer's shape as the graph has it, the top-5 as
// `alexnet classify` gives it, every layer within the design's tolerance of the reference, two
// devices bit-identical to one. On the reference backend the page's numbers must equal the terminal
// twin's (`alexnet step`) character for character. Screenshots land in test-artifacts/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import type { BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { build, createServer as createViteServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageResult } from '../bench/results-schema.js';
import { pageResultSchema } from '../bench/results-schema.js';
import { readStats } from '../src/data/stats.js';
import type { OpOf } from '../src/graph/index.js';
import { windowOf } from '../src/graph/index.js';
import { alexnet } from '../src/models/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG = path.join(ROOT, 'notebook/vite.config.ts');
const SAMPLES = path.join(ROOT, 'models/mini-fashion/samples');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const BIN = path.join(ROOT, 'dist/cli/main.js');
const CHROMIUM = '/usr/bin/chromium';
// ARCHITECTURE.md: these flags give headless chromium a WebGPU adapter (SwiftShader) on a machine without a GPU
const ARGS = ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'];

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: CI installs Debian's chromium package for the notebook tests`);
if (!haveChromium) console.warn(`skipping the notebook browser tests: no ${CHROMIUM} (apt-get install chromium)`);

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`alexnet ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};
const classify = (image: string, ...flags: string[]): { class: number; prob: number; label: string }[] => JSON.parse(cli('classify', image, '--json', ...flags)).results[0].top;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png' };

/** The built files behind a plain static server on localhost (a secure context, so WebGPU is offered). */
function serve(dir: string): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    if (!file.startsWith(dir) || !existsSync(file) || file.endsWith('/')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() })));
}

/** Opens the page and waits for its first run; fails with the page's own error message. */
async function open(page: Page, url: string): Promise<void> {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: 100_000 });
  const status = page.locator('#status');
  expect(await status.getAttribute('data-state'), `${await status.textContent()} ${errors.join('; ')}`).toBe('ready');
}

const text = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).textContent())!.trim();

/** Run all: every cell shown (cells are built when first shown), the extras computed. */
async function everyCell(page: Page): Promise<void> {
  await page.click('#run-all');
  await page.waitForFunction(() => document.querySelectorAll('section.cell[data-state="computing"]').length === 0, undefined, { timeout: 100_000 });
}

/** The page's state for automation (window.__alexnet). */
interface PageState {
  backend: string;
  threads: number;
  maxThreads: number;
  crossOriginIsolated: boolean;
  adapter?: { name: string; software: boolean };
  wholeMs: number;
  layersMs: number;
  layers: { name: string; ms: number; shape: number[]; bits: string }[];
}
const pageState = (page: Page): Promise<PageState> => page.evaluate(() => (window as unknown as { __alexnet: PageState }).__alexnet);

/** The top-5 as the page shows it. */
async function pageTop5(page: Page): Promise<{ class: number; prob: number }[]> {
  await page.click('#outline li[data-target="output"]');
  return page.$$eval('[data-cell="output"] [data-field="top5"] tr[data-class]', (rows) => rows.map((r) => ({ class: Number(r.getAttribute('data-class')), prob: Number(r.getAttribute('data-prob')) })));
}

describe.skipIf(!haveChromium)('the notebook page', () => {
  let site: { url: string; close: () => void };
  let context: BrowserContext;
  const profile = mkdtempSync(path.join(tmpdir(), 'alexnet-chromium-'));
  const out = mkdtempSync(path.join(tmpdir(), 'alexnet-notebook-'));
  const graph = alexnet({ preset: 'mini' });
  const boot = path.join(SAMPLES, 'ankle-boot.png');

  beforeAll(async () => {
    await build({ configFile: CONFIG, logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
    site = await serve(out);
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    site?.close();
    rmSync(profile, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  for (const backend of ['wasm', 'webgpu'] as const) {
    it(`steps through every cell on ${backend}: shapes, classify's top-5, the reference check, two devices`, async () => {
      const page = await context.newPage();
      await open(page, `${site.url}/index.html?backend=${backend}`);
      expect(await text(page, '#status')).toContain(`ran on ${backend}`);
      // no GPU here: chromium's adapter is SwiftShader, and the page says it is software
      if (backend === 'webgpu') expect(await text(page, '#status')).toContain('WebGPU on software Vulkan (CPU)');
      const cells = await page.$$eval('section.cell', (s) => s.map((c) => c.getAttribute('data-cell')!));
      const layers = graph.nodes.filter((n) => n.op.type !== 'input');
      expect(cells.filter((c) => c.startsWith('layer-'))).toEqual(layers.map((n) => `layer-${n.name}`));
      // one cell at a time, Next to the end: the one shown is the one the position names
      for (const [i, id] of cells.entries()) {
        expect(await page.$$eval('section.cell:not([hidden])', (s) => s.map((c) => c.getAttribute('data-cell')))).toEqual([id]);
        expect(await text(page, '#position')).toBe(`${i + 1} / ${cells.length}`);
        if (id.startsWith('layer-')) {
          const node = graph.node(id.slice('layer-'.length));
          expect(await text(page, `[data-cell="${id}"] [data-field="output-shape"]`), id).toBe(`[${node.shape.join(', ')}]`);
          expect(await text(page, `[data-cell="${id}"] [data-field="input-shape"]`), id).toBe(`[${node.inputShapes[0].join(', ')}]`);
        }
        if (id === 'layer-conv1') await page.locator('[data-cell="layer-conv1"]').screenshot({ path: path.join(ARTIFACTS, `notebook-conv1-${backend}.png`) });
        if (i < cells.length - 1) await page.click('#next');
      }
      expect(await page.locator('#next').isDisabled()).toBe(true);
      // the extras are computed when their cells are first shown
      await page.waitForSelector('section[data-cell="check"][data-state="ready"]', { state: 'attached', timeout: 100_000 });
      await page.waitForSelector('section[data-cell="devices"][data-state="ready"]', { state: 'attached', timeout: 100_000 });
      // the prediction: classify's classes in its order, probabilities to float32 rounding
      const expected = classify(boot);
      const shown = await pageTop5(page);
      expect(shown.map((t) => t.class)).toEqual(expected.map((t) => t.class));
      shown.forEach((t, r) => expect(Math.abs(t.prob - expected[r].prob)).toBeLessThan(1e-4));
      const errors = await page.$$eval('[data-cell="check"] [data-field="error"]', (e) => e.map((x) => Number(x.textContent)));
      expect(errors).toHaveLength(layers.length);
      for (const e of errors) expect(e).toBeLessThanOrEqual(1e-4);
      const split = await page.$$eval('[data-cell="devices"] [data-field="device-error"]', (e) => e.map((x) => x.textContent));
      expect(split.length).toBeGreaterThan(0);
      for (const e of split) expect(e).toBe('0 (bit-identical)');
      expect(await page.locator('[data-cell="devices"] [data-field="transfers"] tr').count()).toBeGreaterThan(1);
      await page.close();
    });
  }

  it('shows the numbers of the terminal twin, on the reference backend, and Run all shows every cell', async () => {
    const walk = path.join(out, 'walk');
    cli('step', boot, '--out', walk, '--backend', 'reference');
    const md = readFileSync(path.join(walk, 'walkthrough.md'), 'utf8');
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=reference&sample=ankle-boot.png`);
    await everyCell(page);
    expect(await page.locator('section.cell[hidden]').count()).toBe(0);
    for (const node of graph.nodes.filter((n) => n.op.type !== 'input')) {
      const row = md.split(`\n## ${node.name}: ${node.op.type}\n`)[1].split('\n').find((l) => l.startsWith('| ['))!;
      // input, output, parameters, multiply-adds, time, min, max, mean, zeros: all but the time must match
      const twin = row.split('|').slice(1, -1).map((c) => c.trim());
      const shown = await page.$$eval(`[data-cell="layer-${node.name}"] tr:last-child td`, (tds) => tds.map((td) => td.textContent!.trim()));
      expect([...shown.slice(0, 4), ...shown.slice(5)], node.name).toEqual([...twin.slice(0, 4), ...twin.slice(5)]);
    }
    const twinTop5 = md.split('## The prediction')[1].split('\n').filter((l) => /^\| \d/.test(l)).map((l) => l.split('|')[3].trim());
    const shownTop5 = await page.$$eval('[data-cell="output"] [data-field="top5"] tr[data-class] td:nth-child(3)', (tds) => tds.map((td) => td.textContent!.trim()));
    expect(shownTop5).toEqual(twinTop5);
    // the two-device run: the same layers, the same verdict against one device
    const twinSplit = new Map(md.split('against the one-device run')[1].split('\n').filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| layer')).map((l) => [l.split('|')[1].trim(), l.split('|')[4].trim()]));
    const shownSplit = await page.$$eval('[data-cell="devices"] [data-layer]', (d) => d.map((x) => [x.getAttribute('data-layer')!, x.querySelector('[data-field="device-error"]')!.textContent!.trim()] as const));
    expect(shownSplit.length).toBeGreaterThan(0);
    for (const [layer, verdict] of shownSplit) expect(verdict, layer).toBe(twinSplit.get(layer));
    await page.close();
  });

  it('averages ten crops when asked, as classify --tta ten-crop', async () => {
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=wasm&sample=sandal.png&crops=ten-crop`);
    const expected = classify(path.join(SAMPLES, 'sandal.png'), '--tta', 'ten-crop');
    const shown = await pageTop5(page);
    expect(shown.map((t) => t.class)).toEqual(expected.map((t) => t.class));
    shown.forEach((t, r) => expect(Math.abs(t.prob - expected[r].prob)).toBeLessThan(1e-4));
    await page.click('#outline li[data-target="ten-crops"]');
    expect(await page.locator('[data-cell="ten-crops"] canvas').count()).toBe(10);
    // PCA colour noise: the slider's α moves every pixel by α √λ p (one component for grey images)
    const stats = readStats(readFileSync(path.join(ROOT, 'models/mini-fashion/stats.safetensors')), 'stats');
    await page.click('#outline li[data-target="pca"]');
    await page.locator('[data-field="alpha-1"]').fill('0.25');
    const shift = 0.25 * Math.sqrt(stats.eigenvalues[0]) * stats.eigenvectors[0];
    expect(await text(page, 'section[data-cell="pca"] figure:last-child figcaption')).toBe(`with noise: every pixel shifted by (${shift.toFixed(1)})`);
    // one colour scale for every layer: the same legend everywhere, from the lowest value to the highest
    await page.selectOption('#scale', 'global');
    await everyCell(page);
    const legends = await page.$$eval('section[data-cell^="layer-"] .legend', (l) => l.map((x) => x.textContent));
    expect(new Set(legends).size).toBe(1);
    await page.close();
  });

  it('takes an image, weights and labels from the file pickers, and names a bad weights file', async () => {
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=wasm`);
    // the built-in model's files through the pickers, and a sample as an upload
    const model = path.join(ROOT, 'models/mini-fashion');
    await page.setInputFiles('#image-file', path.join(SAMPLES, 'bag.png'));
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('ran on') && document.querySelector('[data-cell="intro"]')?.textContent?.includes('bag.png'));
    await page.setInputFiles('#stats-file', path.join(model, 'stats.safetensors'));
    await page.setInputFiles('#labels-file', path.join(model, 'labels.txt'));
    await page.setInputFiles('#weights-file', path.join(model, 'weights.safetensors'));
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent?.startsWith('weights.safetensors: mini'));
    await page.waitForSelector('#status[data-state="ready"]');
    const expected = classify(path.join(SAMPLES, 'bag.png'));
    expect((await pageTop5(page)).map((t) => t.class)).toEqual(expected.map((t) => t.class));
    // a PyTorch state dict and an ONNX model, as the CLI reads them (the mini model's statistics
    // and names taken off first: they are for another model)
    await page.setInputFiles('#stats-file', []);
    await page.setInputFiles('#labels-file', []);
    await page.setInputFiles('#weights-file', path.join(ROOT, 'test/fixtures/pytorch/tv16.pth'));
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent === 'tv16.pth: torchvision at width 0.0625, 10 classes');
    await page.waitForSelector('#status[data-state="ready"]');
    await page.setInputFiles('#weights-file', path.join(ROOT, 'test/fixtures/pytorch/bvlc16.onnx'));
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent === 'bvlc16.onnx: bvlc at width 0.0625, input 224, 10 classes');
    await page.waitForSelector('#status[data-state="ready"]');
    // a file that is not a weights file: a named error, and the page keeps working
    await page.setInputFiles('#weights-file', { name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not weights') });
    await page.waitForSelector('#status[data-state="error"]');
    expect(await text(page, '#status')).toMatch(/^SafetensorsError \[[A-Z_]+\]: broken\.safetensors: /);
    // and an image cut short: refused by name, as the CLI refuses it
    await page.setInputFiles('#image-file', { name: 'cut.png', mimeType: 'image/png', buffer: readFileSync(path.join(SAMPLES, 'bag.png')).subarray(0, 120) });
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('cut.png'));
    expect(await text(page, '#status')).toMatch(/^ImageError \[TRUNCATED\]: cut\.png: /);
    await page.close();
  });

  it('says what the built-in model knows, and warns for a photo it was not made for, as classify does', async () => {
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=wasm`);
    expect(await text(page, '[data-cell="intro"] [data-field="lede"]')).toMatch(/a small model that knows only Fashion-MNIST: 10 kinds of clothing, as 28x28 grey images\. For photos, load ImageNet AlexNet weights/);
    expect(await page.locator('[data-field="domain-warning"]').count()).toBe(0); // a sample: no warning
    const photo = path.join(out, 'colour.jpg');
    const [w, h] = [320, 240];
    const rgba = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set([230, 200 + (x % 40), 90 + (y % 60), 255], 4 * (y * w + x));
    writeFileSync(photo, jpeg.encode({ data: rgba, width: w, height: h }, 90).data);
    await page.setInputFiles('#image-file', photo);
    await page.waitForFunction(() => document.querySelector('[data-cell="intro"]')?.textContent?.includes('colour.jpg'));
    const warning = await text(page, '[data-cell="intro"] [data-field="domain-warning"]');
    expect(warning).toMatch(/colour\.jpg is in colour, 320x240 pixels and on a light background, but this model only knows Fashion-MNIST/);
    expect(warning).not.toMatch(/--/); // no command-line flags in the page
    const cli = spawnSync(process.execPath, [BIN, 'classify', photo], { encoding: 'utf8' });
    expect(cli.stderr).toContain('is in colour, 320x240 pixels and on a light background, but this model only knows Fashion-MNIST');
    await page.close();
  });

  it('runs other weights: an RGB JPEG through bvlc\'s graph (paper\'s shapes, picked from the menu), as classify does', async () => {
    const golden = path.join(ROOT, 'test/fixtures/golden/bvlc-w0.125-c10-b2/weights.safetensors');
    // a colour JPEG that is not square, so the rescale, the centre square and the crop all matter
    const photo = path.join(out, 'stripes.jpg');
    const [w, h] = [300, 260];
    const rgba = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set([(x * 255) / w, 128 + 100 * Math.sin(y / 9), (x + y) % 64 < 32 ? 230 : 20, 255], 4 * (y * w + x));
    writeFileSync(photo, jpeg.encode({ data: rgba, width: w, height: h }, 90).data);
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=wasm`);
    await page.setInputFiles('#weights-file', golden);
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent?.startsWith('weights.safetensors: paper at width 0.125, 10 classes'));
    expect(await page.$$eval('#preset option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual(['paper', 'bvlc']);
    await page.click('#model-drawer summary');
    await page.selectOption('#preset', 'bvlc');
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent?.startsWith('weights.safetensors: bvlc'));
    await page.setInputFiles('#image-file', photo);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('ran on') && document.querySelector('section[data-cell="intro"]')?.textContent?.includes('stripes.jpg'), undefined, { timeout: 100_000 });
    expect(await text(page, '#status')).toContain('ImageNet\'s per-channel mean'); // no statistics: said, as the CLI says it
    await everyCell(page);
    expect(await text(page, 'section[data-cell="layer-norm1"] [data-field="formula"]')).toContain('b[c] = a[c] / (1 + 0.0001/5'); // bvlc's LRN
    const expected = classify(photo, '--arch', 'bvlc', '--width', '0.125', '--classes', '10', '--weights', golden);
    const shown = await pageTop5(page);
    expect(shown.map((t) => t.class)).toEqual(expected.map((t) => t.class));
    shown.forEach((t, r) => expect(Math.abs(t.prob - expected[r].prob)).toBeLessThan(1e-4));
    for (const e of await page.$$eval('[data-cell="check"] [data-field="error"]', (x) => x.map((y) => Number(y.textContent)))) expect(e).toBeLessThanOrEqual(1e-4);
    await everyCell(page);
    for (const cell of ['image-1', 'image-2', 'conv1-filters']) await page.locator(`section[data-cell="${cell}"]`).screenshot({ path: path.join(ARTIFACTS, `notebook-bvlc-${cell}.png`) });
    await page.close();
  });

  it('runs on every core, bit for bit as on one thread, isolated by the static host\'s service worker; the default is WASM on every core, not a software GPU', async () => {
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=wasm&threads=1`);
    const one = await pageState(page);
    // this server sends no isolation headers: coi-serviceworker added them and reloaded the page once
    expect(one.crossOriginIsolated).toBe(true);
    expect(one.threads).toBe(1);
    expect(one.maxThreads).toBe(Math.min(availableParallelism(), 64));
    if (one.maxThreads > 1) {
      await page.selectOption('#threads', String(one.maxThreads));
      await page.waitForFunction((n) => (window as unknown as { __alexnet: PageState }).__alexnet.threads === n && document.querySelector('#status')?.getAttribute('data-state') === 'ready', one.maxThreads);
      const all = await pageState(page);
      expect(await text(page, '#status')).toContain(`${one.maxThreads} threads`);
      expect(all.layers.map((l) => `${l.name} ${l.bits}`)).toEqual(one.layers.map((l) => `${l.name} ${l.bits}`));
    }
    // with no parameters: WASM on every core; chromium's SwiftShader adapter is listed as software
    await open(page, `${site.url}/index.html`);
    const fresh = await pageState(page);
    expect(fresh.adapter?.software).toBe(true);
    expect([fresh.backend, fresh.threads]).toEqual(['wasm', fresh.maxThreads]);
    expect(await text(page, '#backend option[value="webgpu"]')).toMatch(/software/);
    // honest times: an isolated page's clock is fine-grained, and the whole run is timed beside the layers' sum
    expect(fresh.layers.some((l) => Math.abs(l.ms * 10 - Math.round(l.ms * 10)) > 1e-6), 'times finer than 0.1 ms').toBe(true);
    expect(fresh.wholeMs).toBeGreaterThan(0);
    expect(await text(page, '[data-cell="intro"] [data-field="timing"]')).toContain(`one run of the whole network took ${fresh.wholeMs.toFixed(2)} ms`);
    await page.close();
  });

  it('fits the screen: a compact bar at 1280x800 and 1024x640, a menu and the full width at 390x844', async () => {
    for (const [width, height, share] of [[1280, 800, 0.15], [1024, 640, 0.2], [390, 844, 0.2]] as const) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      await open(page, `${site.url}/index.html?backend=wasm&cell=layer-conv2`);
      const header = (await page.locator('header').boundingBox())!;
      expect(header.height / height, `${width}x${height}: the controls' share of the height`).toBeLessThanOrEqual(share);
      // nothing wider than the window: the page never scrolls sideways (wide tables and drawings scroll in their cells)
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `${width}x${height}`).toBeLessThanOrEqual(width);
      const cell = (await page.locator('section[data-cell="layer-conv2"]').boundingBox())!;
      if (width < 700) {
        expect(await page.locator('#outline').isVisible()).toBe(false);
        expect(await page.locator('#outline-menu').isVisible()).toBe(true);
        expect(cell.width).toBeGreaterThanOrEqual(width - 24);
        await page.selectOption('#outline-menu', { label: (await page.$$eval('#outline-menu option', (o) => o.map((x) => x.textContent!))).find((t) => t.endsWith('The prediction'))! });
        expect(await page.$$eval('section.cell:not([hidden])', (c) => c.map((x) => x.getAttribute('data-cell')))).toEqual(['output']);
        await page.click('#controls-toggle');
        expect(await page.locator('#backend').isVisible()).toBe(true);
      } else {
        expect(await page.locator('#outline').isVisible()).toBe(true);
        // the outline's numbers are not clipped: the list's markers lie inside the window
        const fits = await page.$eval('#outline', (o) => {
          const probe = document.createElement('span');
          probe.textContent = `${o.children.length}. `;
          o.lastElementChild!.append(probe);
          const wide = probe.getBoundingClientRect().width;
          probe.remove();
          return wide <= parseFloat(getComputedStyle(o).paddingLeft);
        });
        expect(fits, 'the outline\'s last number fits its margin').toBe(true);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, `notebook-${width}x${height}.png`) });
      await page.close();
    }
  });

  it('inspects a unit: its receptive field on the input, its window, and its number made from them', async () => {
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=wasm&cell=layer-conv1`);
    const clickMap = async (cell: string): Promise<void> => {
      const box = (await page.locator(`[data-cell="${cell}"] canvas.pickable`).boundingBox())!;
      await page.mouse.click(box.x + 8, box.y + 8); // inside the first map
      await page.waitForSelector('#inspector[open]');
    };
    const hover = async (fx: number, fy: number): Promise<{ text: string; value: number; backend: number; i: number; j: number; rows: number[]; cols: number[] }> => {
      const box = (await page.locator('#inspector canvas').first().boundingBox())!;
      await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
      return page.evaluate(() => {
        const e = document.querySelector<HTMLElement>('#inspector [data-field="explain"]')!;
        const u = document.querySelector<HTMLElement>('#inspector [data-field="unit"]')!;
        return { text: e.textContent!, value: Number(e.dataset.value), backend: Number(e.dataset.backend), i: Number(e.dataset.i), j: Number(e.dataset.j), rows: u.dataset.rows!.split(',').map(Number), cols: u.dataset.cols!.split(',').map(Number) };
      });
    };
    await clickMap('layer-conv1');
    const conv1 = graph.node('conv1');
    const win = windowOf(conv1.op as OpOf<'conv2d'>);
    const [, height, width] = conv1.inputShapes[0];
    const u = await hover(0.6, 0.3);
    // a conv1 unit sees the kernel's window of the input at stride · (i, j) − padding, clipped to the image
    const span = (at: number, stride: number, before: number, k: number, size: number) => [Math.max(0, stride * at - before), Math.min(size, stride * at - before + k)];
    expect(u.rows).toEqual(span(u.i, win.sh, win.top, win.kh, height));
    expect(u.cols).toEqual(span(u.j, win.sw, win.left, win.kw, width));
    expect(await page.locator('#inspector .box:not([hidden])').count()).toBeGreaterThanOrEqual(2);
    // the dot product made of the real inputs and weights is the backend's number at that unit
    expect(Math.abs(u.value - u.backend)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(u.value)));
    expect(u.text).toMatch(new RegExp(`^y\\[o=0, i=${u.i}, j=${u.j}\\] = b .* = ${String(Number(u.value.toPrecision(4))).replace('.', '\\.')}$`));
    await page.click('#inspector .close');
    // a grouped conv, a max pool and an LRN: each made from its window as its formula says
    for (const cell of ['layer-conv2', 'layer-pool1', 'layer-norm1']) {
      await page.click(`#outline li[data-target="${cell}"]`);
      await clickMap(cell);
      const v = await hover(0.45, 0.55);
      expect(Math.abs(v.value - v.backend), cell).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(v.value)));
      await page.screenshot({ path: path.join(ARTIFACTS, `notebook-inspect-${cell}.png`) });
      await page.click('#inspector .close');
    }
    // the prediction names the classes beside their bars
    await page.click('#outline li[data-target="output"]');
    const labels = readFileSync(path.join(ROOT, 'models/mini-fashion/labels.txt'), 'utf8').trim().split('\n');
    expect(await page.$$eval('[data-cell="output"] .unit-bar .label', (l) => l.map((x) => x.textContent))).toEqual(labels.map((l, i) => `${l} (${i})`));
    await page.close();
  });

  it('trains the built-in network in the page: the loss falls, Stop stops it and Resume goes on', async () => {
    const page = await context.newPage();
    await open(page, `${site.url}/index.html?backend=wasm&cell=train`);
    type Training = { running: boolean; steps: number; losses: number[]; heldOutError?: number };
    const training = (): Promise<Training | undefined> => page.evaluate(() => (window as unknown as { __alexnet: { training?: Training } }).__alexnet.training);
    expect(await training()).toBeUndefined();
    await page.click('[data-cell="train"] button:text-is("Start")');
    await page.waitForFunction(() => ((window as unknown as { __alexnet: { training?: Training } }).__alexnet.training?.steps ?? 0) >= 40, undefined, { timeout: 120_000 });
    await page.click('[data-cell="train"] button:text-is("Stop")');
    await page.waitForFunction(() => (window as unknown as { __alexnet: { training?: Training } }).__alexnet.training?.running === false);
    const stopped = (await training())!;
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    // from the paper's initialisation the loss starts near ln 10 and falls as it learns
    expect(mean(stopped.losses.slice(-10))).toBeLessThan(mean(stopped.losses.slice(0, 10)));
    expect(mean(stopped.losses.slice(-10))).toBeLessThan(Math.log(10));
    expect(Number(await page.getAttribute('[data-cell="train"] [data-field="train-steps"]', 'data-value'))).toBe(stopped.steps);
    await page.waitForTimeout(500);
    expect((await training())!.steps).toBe(stopped.steps);
    await page.click('[data-cell="train"] button:text-is("Resume")');
    await page.waitForFunction((n) => ((window as unknown as { __alexnet: { training?: Training } }).__alexnet.training?.steps ?? 0) > n, stopped.steps, { timeout: 60_000 });
    await page.click('[data-cell="train"] button:text-is("Stop")');
    await page.locator('[data-cell="train"]').screenshot({ path: path.join(ARTIFACTS, 'notebook-train.png') });
    await page.close();
  });

  it('the benchmark page times every system it offers, each checked against the reference, and downloads its results in the schema', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site.url}/bench.html?width=0.25&batch=1&runs=1&ladder=1&auto=1`);
    await page.waitForFunction(() => ['done', 'error'].includes((window as unknown as { __alexnetBench?: { state: string } }).__alexnetBench?.state ?? ''), undefined, { timeout: 400_000, polling: 500 });
    const state = await page.evaluate(() => (window as unknown as { __alexnetBench: { state: string; message: string; result: PageResult } }).__alexnetBench);
    expect(state.state, `${state.message} ${errors.join('; ')}`).toBe('done');
    const result = pageResultSchema.parse(state.result);
    expect(result.failures).toEqual([]);
    // every core (cross-origin isolated by coi-serviceworker on this plain server), SwiftShader named as software
    expect(result.machine.isolated).toBe(true);
    expect(result.machine.adapters.map((a) => a.software)).toEqual([true]);
    const threads = Math.min(availableParallelism(), result.machine.cores);
    const systems = result.network.map((r) => r.system);
    expect(systems).toEqual(
      expect.arrayContaining(['ours, wasm, 1 thread', 'ours, webgpu (google)', 'TensorFlow.js wasm', 'TensorFlow.js webgpu', 'onnxruntime-web wasm', 'onnxruntime-web webgpu']),
    );
    if (threads > 1) expect(systems).toContain(`ours, wasm, ${threads} threads`);
    expect(result.network.find((r) => r.system.startsWith('ours, webgpu'))!.details).toContain('WebGPU on software Vulkan (CPU): google swiftshader');
    for (const r of result.network) expect(r.error, r.system).toBeLessThanOrEqual(1e-4);
    // ours layer by layer: every conv and FC of the network, summing to about the whole run
    const layerNames = alexnet({ preset: 'bvlc', width: 0.25 }).nodes.filter((n) => n.op.type === 'conv2d' || n.op.type === 'linear').map((n) => n.name);
    for (const l of result.layers) expect(Object.keys(l.layers), l.system).toEqual(expect.arrayContaining(layerNames));
    // the kernel ladder on the adapter: every layer on every kernel set, each checked
    expect(result.webgpuLadder.map((r) => `${r.layer} ${r.kernels}`)).toEqual(layerNames.flatMap((l) => ['naive', 'tiled', 'direct'].map((k) => `${l} ${k}`)));
    expect(await page.locator('#table tbody tr').count()).toBe(result.network.length);
    expect(await page.locator('#chart svg').count()).toBe(1);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    expect(pageResultSchema.parse(file)).toEqual(result);
    for (const [width, height] of [[1280, 800], [1024, 640], [390, 844]]) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: path.join(ARTIFACTS, `bench-page-${width}x${height}.png`), fullPage: true });
    }
  }, 420_000);

  it('runs from the dev server (npm run notebook), cross-origin isolated by its headers', async () => {
    const server = await createViteServer({ configFile: CONFIG, logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
    await server.listen();
    try {
      const page = await context.newPage();
      await open(page, `${server.resolvedUrls!.local[0]}?backend=wasm`);
      expect(await text(page, '[data-cell="intro"] h2')).toBe('AlexNet');
      const state = await pageState(page);
      expect([state.crossOriginIsolated, state.threads]).toEqual([true, state.maxThreads]);
      await page.close();
    } finally {
      await server.close();
    }
  });
});
