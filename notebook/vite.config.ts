// `npm run notebook` serves this page; `npm run notebook:build` writes notebook/dist/, static files
// that work from any static server (relative paths; no headers needed: the wasm kernels run on the
// page's thread, so no cross-origin isolation is required).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repo = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // the page imports ../src, ../build (the wasm kernels) and ../models (the built-in model)
  server: { fs: { allow: [repo] } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Node's WebGPU (Dawn): imported only where there is no navigator.gpu, never in a browser
    rollupOptions: { external: ['webgpu'] },
  },
  optimizeDeps: { exclude: ['webgpu'] },
});
