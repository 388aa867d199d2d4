/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { configDefaults } from 'vitest/config';

// The `scf` server serves the built files at `/` and resolves `/01/{gtin}/10/{lot}` to index.html;
// in development, /graphql is proxied to a running `scf demo`.
export default defineConfig({
  plugins: [react()],
  base: '/',
  server: {
    proxy: {
      '/graphql': { target: process.env.SCF_API ?? 'http://127.0.0.1:8080', ws: true, changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: true,
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      output: {
        manualChunks: {
          antd: ['antd', '@ant-design/icons'],
          echarts: ['echarts', 'echarts-for-react'],
          crypto: ['sm-crypto'],
        },
      },
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    // End-to-end tests need a running demo and chromium: `npm run e2e` (vitest.e2e.config.ts).
    exclude: [...configDefaults.exclude, 'e2e/**'],
    testTimeout: 20000,
  },
});
