// The window's build (ui/dist, embedded by Tauri at compile time) and its tests (vitest + jsdom).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: './',
  // JSX through esbuild: no React plugin needed for a build without fast refresh.
  esbuild: { jsx: 'automatic' },
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK on Linux, WKWebView on macOS, WebView2 on Windows all handle ES2021.
    target: 'es2021',
    sourcemap: false,
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    restoreMocks: true,
  },
});
