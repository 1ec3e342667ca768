/**
 * Differential check against the live kernel: random operation sequences run in the model
 * and, through `probe.c`, in a real process; VmPTE and RssAnon must agree after every step.
 * Linux x86-64 with gcc only (the kernel must be the one the model claims to be).
 *
 *   npx tsx packages/mm/test/native/differential.ts [sequences=40] [seed=1] [window=gib|p4d]
 *
 * The 16 MiB window straddles a 1 GiB boundary (`gib`) or a 512 GiB one (`p4d`).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng, isKmodelError } from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import { AddressSpace, PROT_NONE, PROT_READ, PROT_WRITE } from '@kmodel/mm';

const probeSrc = fileURLToPath(new URL('./probe.c', import.meta.url));
const probeBin = '/tmp/kmodel-mm-probe';
execFileSync('gcc', ['-O2', '-o', probeBin, probeSrc]);

const sequences = Number(process.argv[2] ?? 40);
const rng = new Rng(Number(process.argv[3] ?? 1));
// 8 MiB below a 1 GiB boundary, or below a 512 GiB boundary (vpn).
const WINDOW = process.argv[4] === 'p4d' ? 3 * 512 ** 3 - 2048 : 0x100000000 + 512 * 512 - 2048;
const SPAN = 4096; // 16 MiB

class Pages {
  private next = 1 << 20;
  private readonly free: number[][] = Array.from({ length: 11 }, () => []);
  allocPages(_gfp: number, order: number): number {
    const f = this.free[order]!.pop();
    if (f !== undefined) return f;
    const size = 2 ** order;
    const p = Math.ceil(this.next / size) * size;
    this.next = p + size;
    return p;
  }
  freePages(pfn: number, order: number): void {
    this.free[order]!.push(pfn);
  }
  managedPages(): number {
    return 2 ** 30;
  }
  nrFreePages(): number {
    return 2 ** 30;
  }
}

const hex = (vpn: number) => `0x${(vpn * 4096).toString(16)}`;
const size = (pages: number) => `${pages * 4}K`;

function randomRange(): [number, number] {
  const blocks = rng.int(0, 3) === 0;
  if (blocks) {
    const b = rng.int(0, SPAN / 512 - 1);
    return [WINDOW + b * 512, Math.min(rng.int(1, 4) * 512, SPAN - b * 512)];
  }
  const o = rng.int(0, SPAN - 1);
  return [WINDOW + o, Math.min(rng.int(1, 1536), SPAN - o)];
}

let failures = 0;
let steps = 0;
for (let n = 0; n < sequences; n++) {
  const allocator = new Pages();
  const zeroPfn = allocator.allocPages(0, 0);
  const hugeZeroPfn = allocator.allocPages(0, 9);
  const mm = new AddressSpace({ id: 1, allocator, pageTables: createPageTable, zeroPfn, hugeZeroPfn });
  // A fork before anything else gives the child's baseline offset: a child does not copy
  // the tables of the probe's own file mappings (no anon_vma), so its deltas start elsewhere.
  const args: string[] = ['fork'];
  const expected: [number, number][] = [];
  const ops: string[] = [];
  for (let k = 0; k < 16; k++) {
    const [v, p] = randomRange();
    const choice = rng.int(0, 9);
    let argv: string[];
    try {
      if (choice <= 1) {
        argv = ['m', hex(v), size(p)];
        try {
          mm.mmap({ addr: v, pages: p, fixedNoreplace: true, noreserve: true });
        } catch (e) {
          if (!isKmodelError(e)) throw e;
        }
      } else if (choice <= 4) {
        // Touch only mapped pages (a real process would die of SIGSEGV otherwise).
        const vma = [...mm.vmas()][rng.int(0, Math.max(0, mm.mapCount - 1))];
        if (vma === undefined || (vma.flags & 7) === 0) continue; // PROT_NONE: a real access would SIGSEGV
        const write = (vma.flags & 2) !== 0 && rng.int(0, 1) === 1;
        const stride = [1, 16, 512][rng.int(0, 2)]!;
        const s = vma.start + rng.int(0, vma.end - vma.start - 1);
        const len = rng.int(1, vma.end - s);
        argv = [write ? 'w' : 'r', hex(s), size(len), size(stride)];
        mm.touch(s, len, stride, write);
      } else if (choice <= 7) {
        const adv = (['dontneed', 'free', 'hugepage', 'nohugepage', 'populate_read', 'populate_write', 'dontneed', 'hugepage'] as const)[rng.int(0, 7)]!;
        argv = [{ dontneed: 'd', free: 'f', hugepage: 'h', nohugepage: 'nh', populate_read: 'pr', populate_write: 'pw' }[adv], hex(v), size(p)];
        try {
          mm.madvise(v, p, adv);
        } catch (e) {
          if (!isKmodelError(e)) throw e;
        }
      } else if (choice === 8) {
        if (rng.int(0, 3) === 0) {
          // fork: the child reports its own status (then exits); compare it too.
          const child = mm.fork(2);
          const cs = child.status();
          child.exit();
          args.push('fork');
          ops.push('fork');
          expected.push([cs.VmPTE, cs.RssAnon]);
          continue;
        }
        argv = ['u', hex(v), size(p)];
        mm.munmap(v, p);
      } else {
        const which = rng.int(0, 2);
        argv = [['p', 'P', 'W'][which]!, hex(v), size(p)];
        try {
          mm.mprotect(v, p, [PROT_READ, PROT_NONE, PROT_READ | PROT_WRITE][which]!);
        } catch (e) {
          if (!isKmodelError(e)) throw e;
        }
      }
    } catch (e) {
      if (!isKmodelError(e)) throw e;
      continue;
    }
    args.push(...argv, 's', `s${k}`);
    ops.push(argv.join(' '));
    const st = mm.status();
    expected.push([st.VmPTE, st.RssAnon]);
  }
  const out = execFileSync(probeBin, args, { encoding: 'utf8' });
  const lines = [...out.matchAll(/^(s\d+|child)\s+VmPTE ([+-]\d+) kB RssAnon ([+-]\d+) kB$/gm)];
  const base = lines.shift()!;
  const got = lines.map((m) => (m[1] === 'child' ? [Number(m[2]) - Number(base[2]), Number(m[3]) - Number(base[3])] : [Number(m[2]), Number(m[3])]));
  for (let i = 0; i < expected.length; i++) {
    steps++;
    const [e, g] = [expected[i]!, got[i]];
    if (g === undefined || e[0] !== g[0] || e[1] !== g[1]) {
      failures++;
      console.log(`sequence ${n} step ${i}: model ${JSON.stringify(e)} kernel ${JSON.stringify(g)}\n  ${ops.slice(0, i + 1).join('\n  ')}`);
      break;
    }
  }
}
console.log(`${sequences} sequences, ${steps} steps compared, ${failures} sequences disagreed`);
process.exitCode = failures > 0 ? 1 : 0;
