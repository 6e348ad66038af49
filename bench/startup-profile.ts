/** Turns load-hook records into "which package costs how much start-up time, and who loads it". */
import * as path from 'node:path';
import type { LoadProfile, LoadRecord } from './load-hook';
import { repoRoot } from './process';
import { median } from './stats';

/** The package a file belongs to (`@grpc/grpc-js`), or its place in this repository (`dist/src/job`). */
export function ownerOf(file: string): string {
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = file.lastIndexOf(marker);
  if (at >= 0) {
    const parts = file.slice(at + marker.length).split(path.sep);
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const relative = path.relative(repoRoot, file);
  // The bundle's files (the CLI and each lazily required vendor chunk) by name.
  if (relative.startsWith(`dist${path.sep}bundle${path.sep}`)) return relative;
  // Generated migrations and the like, outside the repository: one owner per directory.
  return relative.startsWith('..') ? path.dirname(file) : path.dirname(relative);
}

function isPackage(owner: string): boolean {
  return !owner.startsWith('dist/') && !owner.startsWith('/');
}

export interface OwnerCost {
  owner: string;
  /** median over the runs of the summed self time of its modules */
  selfMs: number;
  modules: number;
  /** median first load start, ms since process start */
  firstLoadMs: number;
  /** who first required it from outside the owner */
  loadedBy: string;
}

export interface EntryCost {
  /** `dist/src/etcd/client.js → etcd3` */
  edge: string;
  /** median inclusive time of that require (with everything it pulled in) */
  inclusiveMs: number;
}

export interface StartupSummary {
  runs: number;
  hookLoadedMs: number;
  exitMs: number;
  /** median of the summed inclusive time of outermost loads: all time spent in require */
  requireMs: number;
  modules: number;
  owners: OwnerCost[];
  /** requires from this repository's code into a package: what making an import lazy would save */
  entries: EntryCost[];
}

export function summarise(profiles: readonly LoadProfile[]): StartupSummary {
  const perOwner = new Map<string, { self: number[]; modules: number[]; first: number[]; loadedBy: string }>();
  const perEdge = new Map<string, number[]>();
  profiles.forEach((profile, run) => {
    const selfOf = new Map<string, number>();
    const countOf = new Map<string, number>();
    const firstOf = new Map<string, number>();
    const edgeOf = new Map<string, number>();
    const byStart = [...profile.records].sort((a, b) => a.startMs - b.startMs);
    for (const record of byStart) {
      const owner = ownerOf(record.file);
      selfOf.set(owner, (selfOf.get(owner) ?? 0) + record.selfMs);
      countOf.set(owner, (countOf.get(owner) ?? 0) + 1);
      if (!firstOf.has(owner)) {
        firstOf.set(owner, record.startMs);
        const entry = perOwner.get(owner);
        if (!entry) perOwner.set(owner, { self: [], modules: [], first: [], loadedBy: describeParent(record) });
      }
      const parentOwner = record.parent ? ownerOf(record.parent) : undefined;
      if (parentOwner && !isPackage(parentOwner) && isPackage(owner)) {
        const edge = `${path.relative(repoRoot, record.parent!)} → ${owner}`;
        edgeOf.set(edge, (edgeOf.get(edge) ?? 0) + record.inclusiveMs);
      }
    }
    for (const [owner, self] of selfOf) {
      const entry = perOwner.get(owner)!;
      entry.self[run] = self;
      entry.modules[run] = countOf.get(owner) ?? 0;
      entry.first[run] = firstOf.get(owner) ?? Number.NaN;
    }
    for (const [edge, inclusive] of edgeOf) {
      const list = perEdge.get(edge) ?? [];
      list[run] = inclusive;
      perEdge.set(edge, list);
    }
  });
  const filled = (values: number[]) => Array.from({ length: profiles.length }, (_, run) => values[run] ?? 0);
  const owners = [...perOwner].map(([owner, entry]) => ({
    owner,
    selfMs: median(filled(entry.self)),
    modules: median(filled(entry.modules)),
    firstLoadMs: median(entry.first.filter((value) => value !== undefined)),
    loadedBy: entry.loadedBy,
  }));
  const entries = [...perEdge].map(([edge, values]) => ({ edge, inclusiveMs: median(filled(values)) }));
  return {
    runs: profiles.length,
    hookLoadedMs: median(profiles.map((profile) => profile.hookLoadedMs)),
    exitMs: median(profiles.map((profile) => profile.exitMs)),
    requireMs: median(
      profiles.map((profile) => outermost(profile.records).reduce((sum, record) => sum + record.inclusiveMs, 0)),
    ),
    modules: median(profiles.map((profile) => profile.records.length)),
    owners: owners.sort((a, b) => b.selfMs - a.selfMs),
    entries: entries.sort((a, b) => b.inclusiveMs - a.inclusiveMs),
  };
}

function outermost(records: readonly LoadRecord[]): LoadRecord[] {
  return records.filter((record) => record.depth === 0);
}

function describeParent(record: LoadRecord): string {
  if (!record.parent) return '(entry point)';
  const owner = ownerOf(record.parent);
  return isPackage(owner) ? owner : path.relative(repoRoot, record.parent);
}
