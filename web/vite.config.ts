import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The build lands inside the Python package, so `headwater server` serves it without Node.
const outDir = fileURLToPath(new URL("../src/headwater/platform/webapp", import.meta.url));

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
  },
  server: {
    // `npm run dev` talks to a `headwater server` on the default port.
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/git": "http://127.0.0.1:8080",
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
