import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The build goes into the Python package, so `pip install` serves it and users need no Node.
export default defineConfig({
  plugins: [svelte()],
  base: './',
  build: {
    outDir: '../phases/interfaces/server/static',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8765' } },
});
