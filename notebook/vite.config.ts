// `npm run notebook` serves this page; `npm run notebook:build` writes notebook/dist/, static files
// that work from any static server (relative paths). Every core needs cross-origin isolation (the
// wasm threads share one memory): the dev server and `vite preview` send the two headers, and on a
// host that cannot, coi-serviceworker (a service worker that adds them, then reloads the page once)
// does; without either the page runs on one thread.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { defineConfig } from 'vite';

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

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [coiServiceWorker()],
  // the page imports ../src, ../build (the wasm kernels) and ../models (the built-in model)
  server: { fs: { allow: [repo] }, headers: ISOLATION },
  preview: { headers: ISOLATION },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Node's WebGPU (Dawn): imported only where there is no navigator.gpu, never in a browser
    rollupOptions: { external: ['webgpu'] },
  },
  optimizeDeps: { exclude: ['webgpu'] },
});
