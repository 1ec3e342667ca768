import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Every workspace folder with a test/ directory becomes one vitest project. */
function projectsUnder(dir: string) {
  const base = `${root}${dir}`;
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(`${base}/${d.name}/test`))
    .map((d) => ({
      extends: true as const,
      test: {
        name: `${dir}/${d.name}`,
        root: `${base}/${d.name}`,
        include: ['test/**/*.test.ts'],
      },
    }));
}

export default defineConfig({
  resolve: {
    // Tests run against package sources, so no build is needed between an edit and a test run.
    alias: [
      {
        find: /^@kmodel\/([a-z0-9-]+)$/,
        replacement: `${root}packages/$1/src/index.ts`,
      },
    ],
  },
  test: {
    projects: [
      ...projectsUnder('packages'),
      ...projectsUnder('examples'),
      // Repository checks (package manifests, layering, READMEs); they read the built dist/.
      { extends: true, test: { name: 'repo', root, include: ['test/repo/**/*.test.ts'] } },
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
