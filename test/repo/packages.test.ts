import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Package validation as tests: a broken `exports` map, a missing build output, a deep import
// into another package or a layering violation fails here, not in a user's project.
const root = fileURLToPath(new URL('../..', import.meta.url));
const names = readdirSync(join(root, 'packages')).filter((d) => existsSync(join(root, 'packages', d, 'package.json')));
const manifest = (name: string) => JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));

/** Concrete packages each package may depend on at run time (shared/DESIGN.md: only sim composes). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  pgtable: ['core'],
  buddy: ['core'],
  'pte-ref': ['core'],
  mm: ['core'],
  memcg: ['core'],
  directmap: ['core', 'pgtable'],
  mermap: ['core', 'pgtable'],
  reclaim: ['core'],
  sim: ['core', 'pgtable', 'buddy', 'pte-ref', 'mm', 'memcg', 'directmap', 'mermap', 'reclaim'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe.each(names)('@kmodel/%s', (name) => {
  const pkg = manifest(name);
  const dir = join(root, 'packages', name);

  it('is an ESM package whose exports point at built files that exist', () => {
    expect(pkg.name).toBe(`@kmodel/${name}`);
    expect(pkg.type).toBe('module');
    const entry = pkg.exports['.'];
    expect(entry).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(pkg.exports['./internal/*']).toBeNull();
    expect(pkg.files).toContain('dist');
    expect(existsSync(join(dir, entry.types))).toBe(true);
    expect(existsSync(join(dir, entry.default))).toBe(true);
  });

  it('loads by name under plain Node resolution (outside vitest), with exports', () => {
    // Resolved from packages/sim, which depends on every package, as a user's project would.
    const script = `const m = await import('@kmodel/${name}'); console.log(Object.keys(m).length);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(root, 'packages', 'sim'), encoding: 'utf8' });
    expect(Number(out.trim())).toBeGreaterThan(0);
  });

  it('depends only on the layers it may use, through workspace:^', () => {
    const internal = Object.entries<string>(pkg.dependencies ?? {}).filter(([d]) => d.startsWith('@kmodel/'));
    for (const [, range] of internal) expect(range).toBe('workspace:^');
    expect(internal.map(([d]) => d.slice('@kmodel/'.length)).sort()).toEqual([...(ALLOWED[name] ?? [])].sort());
  });

  it('imports other packages only through their entry points, and only those it declares', () => {
    const declared = new Set(Object.keys({ ...pkg.dependencies }));
    for (const file of sourceFiles(join(dir, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from '(@kmodel\/[^']+)'/g)) {
        const spec = m[1]!;
        expect(spec, `${file} imports ${spec}`).toMatch(/^@kmodel\/[a-z-]+$/);
        expect(declared.has(spec), `${file} imports undeclared ${spec}`).toBe(true);
      }
      for (const m of text.matchAll(/from '(\.\.?\/[^']+)'/g)) {
        expect(join(file, '..', m[1]!).startsWith(join(dir, 'src')), `${file} reaches outside src: ${m[1]}`).toBe(true);
      }
    }
  });

  it('has a README with a runnable TypeScript snippet and a changeset', () => {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toMatch(/^# @kmodel\//);
    expect(readme).toMatch(/```(ts|typescript)\n[\s\S]*?from '@kmodel\//);
    const changesets = readdirSync(join(root, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    const mentions = changesets.some((f) => readFileSync(join(root, '.changeset', f), 'utf8').includes(`"@kmodel/${name}"`));
    expect(mentions).toBe(true);
  });
});
