import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmodelError } from '@kmodel/core';
import { buildRunner, encodeTrace, findCompiler, kernelEnvironment, NativeErrorCode, parseTrace, requireLinux, runNative } from '@kmodel/sim';
import { afterAll, describe, expect, it } from 'vitest';
import { thrown } from './support/thrown.js';

const lines = (...ops: object[]) => ops.map((o) => JSON.stringify(o)).join('\n');
const cacheDir = mkdtempSync(join(tmpdir(), 'kmodel-native-test-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describe('encodeTrace', () => {
  it('emits one command per system call with repeat expanded and sizes resolved', () => {
    const t = parseTrace(
      lines(
        { op: 'status', label: 'a' },
        { op: 'mmap', region: 'r', addr: '0x7f8000000000', size: '8MiB', thp: 'never' },
        { op: 'touch', region: 'r', offset: '4MiB', access: 'write' },
        { op: 'madvise', region: 'r', size: '4KiB', advice: 'dontneed', repeat: { count: 2, step: '2MiB' } },
        { op: 'munmap', region: 'r' },
        { op: 'mmap', region: 'r', size: '2MiB', align: '2MiB', prot: 'r' },
        { op: 'status', label: 'b' },
      ),
    );
    expect(encodeTrace(t)).toBe(
      [
        '1 status',
        '2 mmap 0 140187732541440 8388608 4096 rw never',
        '3 touch 0 4194304 4194304 4096 write',
        '4 madvise 0 0 4096 dontneed',
        '4 madvise 0 2097152 4096 dontneed',
        '5 munmap 0 0 8388608',
        '6 mmap 1 0 2097152 2097152 r default',
        '7 status',
        '',
      ].join('\n'),
    );
  });

  it('refuses more mappings than the runner has slots', () => {
    const ops: object[] = [];
    for (let i = 0; i <= 4096; i++) ops.push({ op: 'mmap', region: `r${i}`, size: 4096 });
    expect(thrown(() => encodeTrace(parseTrace(lines(...ops)))).code).toBe(NativeErrorCode.Limit);
  });
});

describe('building the runner', () => {
  it('reports a non-Linux system clearly', () => {
    const e = thrown(() => buildRunner({ platform: 'darwin', cacheDir }));
    expect(e.code).toBe(NativeErrorCode.NotLinux);
    expect(e.message).toContain('"darwin"');
  });

  it('reports a missing compiler clearly', () => {
    const e = thrown(() => findCompiler('/nonexistent/kmodel-cc'));
    expect(e.code).toBe(NativeErrorCode.NoCompiler);
    expect(e.message).toContain('"/nonexistent/kmodel-cc"');
    expect(thrown(() => buildRunner({ compiler: '/nonexistent/kmodel-cc', cacheDir })).code).toBe(NativeErrorCode.NoCompiler);
  });

  it('accepts Linux', () => {
    expect(() => requireLinux('linux')).not.toThrow();
  });

  it('compiles once into the cache directory and reuses the binary (or explains why it cannot)', () => {
    if (!nativeAvailable()) {
      expect([NativeErrorCode.NotLinux, NativeErrorCode.NoCompiler]).toContain(thrown(() => buildRunner({ cacheDir })).code);
      return;
    }
    const first = buildRunner({ cacheDir });
    expect(buildRunner({ cacheDir })).toBe(first);
    expect(readdirSync(cacheDir).filter((f) => f.startsWith('kmodel-runner-'))).toHaveLength(1);
  });
});

/** Whether this machine can run traces natively; where it cannot, the tests check the error instead. */
function nativeAvailable(): boolean {
  try {
    requireLinux();
    findCompiler();
    return true;
  } catch {
    return false;
  }
}

describe('runNative on the live kernel', () => {
  it('reports a runner that dies without printing its records', async () => {
    const t = parseTrace(lines({ op: 'status', label: 'x' }), 'die.jsonl');
    const e = (await runNative(t, { runner: '/bin/false' }).then(
      () => undefined,
      (err: unknown) => err,
    )) as KmodelError;
    expect(e.code).toBe(NativeErrorCode.Run);
    expect(e.message).toBe('E_NATIVE_RUN: the native runner exited with status 1 while running die.jsonl');
  });

  it('without Linux or a compiler, fails with E_NOT_LINUX or E_NO_COMPILER; with them, sees the tables and pages of a write in an empty 512 GiB slot and their release at munmap', async () => {
    const t = parseTrace(
      lines(
        { op: 'status', label: 'baseline' },
        { op: 'mmap', region: 'a', addr: '0x300000000000', size: '4MiB' },
        { op: 'touch', region: 'a', access: 'write' },
        { op: 'status', label: 'written' },
        { op: 'munmap', region: 'a' },
        { op: 'status', label: 'unmapped' },
      ),
      'live.jsonl',
    );
    if (!nativeAvailable()) {
      const e = await runNative(t, { cacheDir }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect([NativeErrorCode.NotLinux, NativeErrorCode.NoCompiler]).toContain((e as KmodelError).code);
      return;
    }
    const records = await runNative(t, { cacheDir });
    expect(records.map((r) => r.label)).toEqual(['baseline', 'written', 'unmapped']);
    const [base, written, unmapped] = records as [(typeof records)[0], (typeof records)[0], (typeof records)[0]];
    // Two PTE tables, one PMD table, one PUD table (4-level x86-64; p4d folded).
    expect(written.VmPTE - base.VmPTE).toBe(16);
    expect(written.RssAnon - base.RssAnon).toBe(4096);
    // free_pgtables() at munmap releases every table of the empty slot.
    expect(unmapped.VmPTE - base.VmPTE).toBe(0);
    expect(unmapped.RssAnon - base.RssAnon).toBe(0);
    expect(base.PageTables).toBeGreaterThan(0);
    // System-wide khugepaged collapses and THP fallbacks, read from /proc/vmstat with every record.
    expect(base['thp_collapse_alloc']).toBeGreaterThanOrEqual(0);
    expect(base['thp_fault_fallback']).toBeGreaterThanOrEqual(0);
    expect(base['thp_enabled']).toBe(kernelEnvironment().thp.enabled);
    expect(base['thp_use_zero_page']).toBe(kernelEnvironment().thp.useZeroPage);
  });

  it('streams more commands than the runner buffers at once (8192 calls, about 250 KB)', async () => {
    const t = parseTrace(
      lines(
        { op: 'status', label: 'before' },
        { op: 'mmap', region: 'a', addr: '0x300000000000', size: '32MiB' },
        { op: 'touch', region: 'a', access: 'read' },
        { op: 'madvise', region: 'a', size: '4KiB', advice: 'dontneed', repeat: { count: 8192, step: '4KiB' } },
        { op: 'status', label: 'after' },
      ),
      'many.jsonl',
    );
    expect(encodeTrace(t).length).toBeGreaterThan(200_000);
    if (!nativeAvailable()) {
      expect([NativeErrorCode.NotLinux, NativeErrorCode.NoCompiler]).toContain(thrown(() => buildRunner({ cacheDir })).code);
      return;
    }
    const [before, after] = await runNative(t, { cacheDir });
    // 16 PTE tables (zapped by 4 KiB calls, never reclaimed) + 1 PMD + 1 PUD table.
    expect(after!.VmPTE - before!.VmPTE).toBe(72);
  });

  it('names the trace line of a system call the kernel refused', async () => {
    // 2^56 is above the user address space of 4- and 5-level paging: mmap fails with ENOMEM.
    const t = parseTrace(lines({ op: 'status', label: 'x' }, { op: 'mmap', region: 'a', addr: '0x100000000000000', size: '4KiB' }), 'bad.jsonl');
    const e = await runNative(t, { cacheDir }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(KmodelError);
    if (!nativeAvailable()) {
      expect([NativeErrorCode.NotLinux, NativeErrorCode.NoCompiler]).toContain((e as KmodelError).code);
      return;
    }
    expect((e as KmodelError).code).toBe(NativeErrorCode.Run);
    expect((e as KmodelError).message).toContain('bad.jsonl:2: mmap failed on the live kernel: Cannot allocate memory (errno 12)');
  });

  it('reports a touch the protection forbids with its trace line instead of dying of SIGSEGV', async () => {
    // The parser refuses such a trace (E_TRACE_PROTECTION); a Trace built by hand reaches the runner.
    const ok = parseTrace(lines({ op: 'status', label: 'x' }, { op: 'mmap', region: 'a', addr: '0x300000000000', size: '8KiB', prot: 'r' }, { op: 'touch', region: 'a', access: 'read' }), 'segv.jsonl');
    const t = { ...ok, ops: ok.ops.map((op) => (op.op === 'touch' ? { ...op, access: 'write' as const } : op)) };
    const e = await runNative(t, { cacheDir }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(KmodelError);
    if (!nativeAvailable()) return;
    expect((e as KmodelError).code).toBe(NativeErrorCode.Run);
    expect((e as KmodelError).message).toBe(
      "E_NATIVE_RUN: segv.jsonl:3: touch failed on the live kernel: SIGSEGV: the access is not allowed by the mapping's protection or hits no mapping at 0x0000300000000000 (errno 14)",
    );
  });
});
