import { fail, show } from '@kmodel/core';
import type { MmId, OomHost, OomTaskStats } from '@kmodel/core';
import type { AddressSpace } from './address-space.js';
import { MmErrorCode } from './errors.js';

/**
 * The live address spaces of a machine by id: the `OomHost` the memcg layer asks for
 * oom_badness inputs and uses to kill a task (exit_mmap of its address space).
 */
export class MmRegistry implements OomHost {
  private readonly byId = new Map<MmId, AddressSpace>();

  /** Registers an address space; its id must be new. */
  add(mm: AddressSpace): AddressSpace {
    if (this.byId.has(mm.id)) fail(MmErrorCode.BadOption, `an address space with id ${show(mm.id)} is already registered`, { mm: mm.id });
    this.byId.set(mm.id, mm);
    return mm;
  }

  /** The address space with this id, or undefined. */
  get(id: MmId): AddressSpace | undefined {
    return this.byId.get(id);
  }

  /** Live address spaces in registration order. */
  *all(): IterableIterator<AddressSpace> {
    for (const mm of this.byId.values()) if (!mm.exited) yield mm;
  }

  oomStats(id: MmId): OomTaskStats | null {
    const mm = this.byId.get(id);
    return mm === undefined ? null : mm.oomStats();
  }

  oomKill(id: MmId): void {
    const mm = this.byId.get(id);
    if (mm !== undefined) {
      mm.exit();
      this.byId.delete(id);
    }
  }
}
