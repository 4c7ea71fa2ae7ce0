import { defineProject } from "vitest/config";

export default defineProject({
  // Resolve workspace packages to their TypeScript sources: tests need no build.
  ssr: { resolve: { conditions: ["@pagelab/source"] } },
  test: { include: ["src/**/*.test.ts"] },
});
