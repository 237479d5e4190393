// The console (index.html, routed by path in the browser) and the upload page (upload/index.html), bundled into
// dist/ with everything they load: nothing comes from a CDN at run time.
import { resolve } from 'node:path';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { apiDocs } from './api-docs';

const root = import.meta.dirname;

/** Uppy's modules import their package.json for its version: bundle the name and version, not the whole manifest. */
function uppyManifests(): Plugin {
  return {
    name: 'uppy-manifests',
    enforce: 'pre',
    transform(code, id) {
      if (!/[\\/]node_modules[\\/]@uppy[\\/][^\\/]+[\\/]package\.json$/.test(id)) return null;
      const { name, version } = JSON.parse(code) as { name: string; version: string };
      return { code: JSON.stringify({ name, version }), map: null };
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [uppyManifests(), apiDocs(root)],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      input: {
        console: resolve(root, 'index.html'),
        upload: resolve(root, 'upload/index.html'),
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
