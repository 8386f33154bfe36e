/**
 * Planner fixtures: real facts of lab node hv1 (test/fixtures/facts/lab-hv1.txt), and the same
 * server as a second node with its own name, addresses and disk serial, as the lab's hv2 is.
 */
import { readFileSync } from 'node:fs';
import { parseAnswers } from '../../../installer/answers/load.js';
import { parseFactsOutput } from '../../../installer/facts/index.js';
import type { ServerFacts } from '../../../installer/facts/types.js';

const LAB_HV1 = readFileSync(new URL('../../fixtures/facts/lab-hv1.txt', import.meta.url), 'utf8');

export function labFacts(node: 1 | 2 = 1): ServerFacts {
  return parseFactsOutput(labFactsText(node));
}

/** The captured facts text of lab node 1, or the same made node 2; edit it and parse it with labFactsEdited. */
export function labFactsText(node: 1 | 2 = 1): string {
  if (node === 1) return LAB_HV1;
  return LAB_HV1.replaceAll('hvdata-demo-1', 'hvdata-demo-2')
    .replaceAll('198.18.1.1/', '198.18.1.2/')
    .replaceAll('198.19.1.1/', '198.19.1.2/')
    .replaceAll('"198.18.1.1"', '"198.18.1.2"')
    .replaceAll('"198.19.1.1"', '"198.19.1.2"')
    .replace(/^hv1$/m, 'hv2');
}

/**
 * The facts of a lab node after minimal edits of the captured text; each `[from, to]` must match, so a
 * change of the capture cannot silently turn an edit into a no-op.
 */
export function labFactsEdited(node: 1 | 2, ...edits: Array<[string | RegExp, string]>): ServerFacts {
  let text = labFactsText(node);
  for (const [from, to] of edits) {
    const next = text.replace(from, to);
    if (next === text) throw new Error(`labFactsEdited: ${String(from)} not found in the facts of node ${node}`);
    text = next;
  }
  return parseFactsOutput(text);
}

export function siteYaml(overrides: { name2?: string; mgmt2?: string; repl2?: string; disk2?: string; wipe2?: boolean } = {}): string {
  return `apiVersion: hvcluster/v1
kind: Cluster
metadata:
  name: lab
spec:
  nodes:
    - name: hv1
      management: { interface: ens3, address: 198.18.1.1/24 }
      replication: { interface: ens4, address: 198.19.1.1/24 }
      storage: { disk: /dev/disk/by-id/virtio-hvdata-demo-1 }
    - name: ${overrides.name2 ?? 'hv2'}
      management: { interface: ${overrides.mgmt2 ?? 'ens3'}, address: 198.18.1.2/24 }
      replication: { interface: ${overrides.repl2 ?? 'ens4'}, address: 198.19.1.2/24 }
      storage: { disk: ${overrides.disk2 ?? '/dev/disk/by-id/virtio-hvdata-demo-2'}${overrides.wipe2 ? ', wipe: true' : ''} }
  time:
    servers: [198.18.1.254]
`;
}

export function loadSite(overrides: Parameters<typeof siteYaml>[0] = {}) {
  return parseAnswers(siteYaml(overrides), 'site.yaml');
}

/**
 * The lab site with `spec.backup` (YAML lines under it, indented by four spaces) and, optionally,
 * guests (`spec.guests` lines, as written under it).
 */
export function loadBackupSite(backup: string[], guests: string[] = []) {
  const indent = (lines: string[]) => lines.map((l) => `    ${l}\n`).join('');
  return parseAnswers(`${siteYaml()}${guests.length > 0 ? `  guests:\n${indent(guests)}` : ''}  backup:\n${indent(backup)}`, 'site.yaml');
}

/** spec.backup on the witness's NFS export, encrypted, with a nightly schedule: every backup file. */
export const FULL_BACKUP = ['repository: { nfs: { server: 198.18.1.10, export: /srv/hvbackup } }', 'passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE }', 'schedule: "*-*-* 02:00:00"'];
