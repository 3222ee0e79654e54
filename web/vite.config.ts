import { defineConfig } from 'vite';

// The console is built into internal/console/dist and embedded in the
// binary; everything is bundled (no CDN), so the page makes no external
// requests.
export default defineConfig({
  base: '/',
  build: {
    outDir: '../internal/console/dist',
    emptyOutDir: false,
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: { '/api': process.env.SLUICE_ADMIN_URL || 'http://127.0.0.1:8081' },
  },
});
