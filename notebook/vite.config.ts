// `npm run notebook` serves the notebook (index.html) and the benchmark page (bench.html);
// `npm run notebook:build` writes notebook/dist/, static files
// that work from any static server (relative paths). Every core needs cross-origin isolation (the
// wasm threads share one memory): the dev server and `vite preview` send the two headers, and on a
// host that cannot, coi-serviceworker (a service worker that adds them, then reloads the page once)
// does; without either the page runs on one thread.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defaultClientConditions, defineConfig } from 'vite';

const repo = fileURLToPath(new URL('..', import.meta.url));
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const COI = 'coi-serviceworker.js';

/** Serves and emits coi-serviceworker.js beside index.html, from its package (no copy in the repo). */
function coiServiceWorker(): Plugin {
  const source = (): string => readFileSync(createRequire(import.meta.url).resolve(`coi-serviceworker/${COI}`), 'utf8');
  return {
    name: 'coi-serviceworker',
    configureServer(server) {
      server.middlewares.use(`/${COI}`, (_req, res) => {
        res.setHeader('content-type', 'text/javascript');
        res.end(source());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: COI, source: source() });
    },
  };
}

/**
 * onnxruntime-web's WebAssembly runtime (the build its webgpu entry loads, for both the wasm and
 * the webgpu execution providers), served and emitted as its own files under ort/: its pthread
 * workers import the runtime's glue by URL, and bundled into the page's chunk that glue would take
 * the page's code with it (a worker that dies on `document`, and a session that never loads).
 */
function ortRuntime(): Plugin {
  const FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];
  // the package exports its .wasm files only: their folder holds the .mjs too
  const dist = (file: string): string => path.join(path.dirname(createRequire(import.meta.url).resolve(`onnxruntime-web/${FILES[1]}`)), file);
  return {
    name: 'onnxruntime-web-runtime',
    configureServer(server) {
      server.middlewares.use('/ort', (req, res, next) => {
        const file = FILES.find((f) => req.url === `/${f}`);
        if (!file) return next();
        res.setHeader('content-type', file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        // a worker of an isolated page must be isolated too (server.headers does not reach this middleware)
        for (const [name, value] of Object.entries(ISOLATION)) res.setHeader(name, value);
        res.end(readFileSync(dist(file)));
      });
    },
    generateBundle() {
      for (const file of FILES) this.emitFile({ type: 'asset', fileName: `ort/${file}`, source: readFileSync(dist(file)) });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [coiServiceWorker(), ortRuntime()],
  // onnxruntime-web's entry that loads its runtime from ort/ rather than from inside the bundle
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  // the page imports ../src, ../build (the wasm kernels) and ../models (the built-in model)
  server: { fs: { allow: [repo] }, headers: ISOLATION },
  preview: { headers: ISOLATION },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // the notebook and the benchmark page; Node's WebGPU (Dawn) and resvg (charts to PNG) are
    // imported only in Node, never in a browser
    rollupOptions: { external: ['webgpu', '@resvg/resvg-js'], input: { index: fileURLToPath(new URL('index.html', import.meta.url)), bench: fileURLToPath(new URL('bench.html', import.meta.url)) } },
  },
  optimizeDeps: { exclude: ['webgpu', '@resvg/resvg-js'] },
});
