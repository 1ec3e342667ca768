import { describe, expect, it } from 'vitest';
import { _PAGE_PRESENT, _PAGE_PSE, _PAGE_RW, _PAGE_USER, PAGES_PER_PMD, TiB } from '@kmodel/core';
import { createPageTable } from '@kmodel/pgtable';
import { CountingTables } from './helpers.js';

const RW = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
const BASE = 2 ** 24; // vpn of 64 GiB: a 512 GiB-aligned start is not needed, 2 TiB spans 4+ PUD spans anyway
const PAGES_2T = (2 * TiB) / 4096;

describe('the seed figures: 2 TiB of 4 KiB pages', () => {
  it('one byte touched per 2 MiB over 2 TiB needs 1,048,576 PTE tables (4 GiB), 2,048 PMD tables (8 MiB), 4 PUD tables', () => {
    const tables = new CountingTables();
    const pt = createPageTable({ levels: 4, tables });
    const start = 2 ** 27; // 512 GiB-aligned, so the range covers exactly 4 PUD tables
    for (let v = start; v < start + PAGES_2T; v += PAGES_PER_PMD) {
      pt.allocTable(v, 1);
      pt.setEntry(v, 1, v & 0xfffffff, RW);
    }
    expect(pt.tableCount(1)).toBe(1_048_576);
    expect(pt.tableCount(2)).toBe(2_048);
    expect(pt.tableCount(3)).toBe(4);
    expect(pt.tableBytes(1)).toBe(4 * 2 ** 30);
    expect(pt.tableBytes(2)).toBe(8 * 2 ** 20);
    // Host cost follows what is touched: one-entry tables are small.
    const perTable = pt.hostBytes() / (1_048_576 + 2_048 + 4 + 1);
    expect(perTable).toBeLessThan(128);
  });

  it('a dense fill of 64 MiB (every 4 KiB page) needs 32 PTE tables; scaled ×32768 that is the 2 TiB figure', () => {
    const tables = new CountingTables();
    const pt = createPageTable({ levels: 4, tables });
    const pages = (64 * 2 ** 20) / 4096;
    for (let v = BASE; v < BASE + pages; v++) {
      if (v % 512 === 0) pt.allocTable(v, 1);
      pt.setEntry(v, 1, v, RW);
    }
    expect(pt.tableCount(1)).toBe(32);
    expect(pt.presentCount(BASE, 1)).toBe(512);
    expect(pt.tableCount(1) * ((2 * TiB) / (64 * 2 ** 20))).toBe(1_048_576);
    // A full table costs at most 4 KiB + 64 bytes of host memory.
    for (let v = BASE; v < BASE + pages; v += 512) expect(pt.tableHostBytes(pt.tableAt(v, 1))).toBeLessThanOrEqual(4096 + 64);
    // A table with one entry costs at most 128 bytes.
    pt.allocTable(BASE + pages, 1);
    pt.setEntry(BASE + pages, 1, 1, RW);
    expect(pt.tableHostBytes(pt.tableAt(BASE + pages, 1))).toBeLessThanOrEqual(128);
  });

  it('a 2 MiB leaf needs no PTE table', () => {
    const tables = new CountingTables();
    const pt = createPageTable({ levels: 4, tables });
    pt.allocTable(BASE, 2);
    pt.setEntry(BASE, 2, 512 * 33, RW | _PAGE_PSE);
    expect(pt.tableCount(1)).toBe(0);
    expect(pt.tableCount(2)).toBe(1);
    expect(pt.entryPfn(BASE + 511, 2)).toBe(512 * 33);
  });
});

describe('host memory of small page tables', () => {
  it('a page table with a few mappings reserves a few KiB, not a whole 4 MiB chunk', () => {
    const pt = createPageTable({ levels: 4, tables: new CountingTables() });
    for (let v = 0; v < 8; v++) {
      pt.allocTable(v * 512, 1);
      pt.setEntry(v * 512, 1, v, RW);
    }
    expect(pt.hostReservedBytes()).toBeLessThanOrEqual(16 * 1024 + 64 * 22);
    // Growing past the first chunk's start size keeps every entry.
    for (let v = 0; v < 4096; v++) {
      if (v % 512 === 0) pt.allocTable(BASE + v, 1);
      pt.setEntry(BASE + v, 1, v, RW);
    }
    for (let v = 0; v < 4096; v++) expect(pt.entryPfn(BASE + v, 1)).toBe(v);
    for (let v = 0; v < 8; v++) expect(pt.entryPfn(v * 512, 1)).toBe(v);
  });
});
