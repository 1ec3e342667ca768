import { fail, GiB, PMD_SIZE, show } from '@kmodel/core';
import { StockMachine } from '../machine/build.js';
import type { MachineParts } from '../machine/parts.js';
import { MmProcess } from '../machine/process.js';
import { runPolicy } from '../run/run.js';
import type { Scenario } from '../scenario/schema.js';
import { checkUserAddress, walkAddress, type WalkResult } from './walk.js';

/** Options of {@link walkScenario}. */
export interface WalkScenarioOptions {
  /** The process to walk in (default: the scenario's first). */
  readonly process?: string;
  /** The scenario file's path (trace workloads are relative to it). */
  readonly scenarioPath?: string;
  readonly parts?: MachineParts;
}

/**
 * Walks `address` in a process's page tables. With a scenario, the scenario runs under its
 * first policy and the walk looks in `process` (default the first one). Without one, a fresh
 * process maps the 2 MiB around the address and writes the byte at it.
 */
export function walkScenario(address: bigint, scenario: Scenario | undefined, options: WalkScenarioOptions = {}): WalkResult {
  checkUserAddress(address, scenario?.machine.paging_levels ?? 4);
  if (scenario === undefined) {
    const machine = new StockMachine({ ram: 4 * GiB, cpus: 1, levels: 4, profile: 'linux-6.18', costs: {}, cgroupVersion: 2, cgroups: [], seed: 1, policy: 'kernel' }, options.parts);
    const p = machine.spawn('walk');
    const base = address - (address % BigInt(PMD_SIZE));
    p.apply({ op: 'mmap', region: 'walk', addr: base, size: PMD_SIZE, align: 4096, prot: 'rw', thp: 'never' });
    p.apply({ op: 'touch', region: 'walk', offset: Number(address - base) & ~0xfff, size: 4096, stride: 4096, access: 'write' });
    return walkAddress(p.pageTable, address);
  }
  let found: WalkResult | undefined;
  runPolicy(scenario, scenario.policies[0]!, {
    ...(options.scenarioPath !== undefined ? { scenarioPath: options.scenarioPath } : {}),
    ...(options.parts ? { parts: options.parts } : {}),
    onMachineDone: (machine) => {
      const procs = machine.processes;
      const p = options.process === undefined ? procs[0] : procs.find((q) => q.name === options.process);
      if (!p) fail('E_UNKNOWN_PROCESS', `no process ${show(options.process)} in the scenario; expected one of ${procs.map((q) => q.name).join(', ')}`, { value: options.process });
      found = { ...walkAddress(p.pageTable, address), ...(p instanceof MmProcess ? { regions: p.regionList() } : {}) };
    },
  });
  return found!;
}
