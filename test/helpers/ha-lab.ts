/**
 * What the HA e2e files (ha.test.ts, ha-drills.test.ts) read from the shared two-node lab with a
 * witness: verify's JSON, Pacemaker's view and the fence history (with the installer's own parsers),
 * the declared HA guest `web` (its site, its page, its boot), and a drill's power-off as the lab sees it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseCrmMon } from '../../installer/facts/parse/crm-mon.js';
import { parseFenceHistory, type FenceEvent } from '../../installer/facts/parse/fence-history.js';
import type { VerifyReport } from '../../installer/verify/report.js';
import { status } from '../lab/lab.js';
import { labSiteYaml } from '../lab/site.js';
import { waitFor } from '../lab/util.js';
import { bootableGuestImage } from './guest-image.js';
import { hvcluster } from './hvcluster.js';
import type { LabHandle } from './lab.js';

const MIN = 60_000;
export const NODES = ['hv1', 'hv2'] as const;
export const other = (node: string) => NODES.find((n) => n !== node)!;

/** The declared HA guest: host 203 of the management subnet, on its preferred node hv1. */
export const WEB_HOST = 203;
export const HA_GUEST_NODE = 'hv1';

export const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
export const bootOf = (page: string) => /boot=(\S+)/.exec(page)?.[1] ?? null;

/** The helpers on LAB; they read its nodes.json only when called (the lab is up once beforeAll ran). */
export function haLab(lab: LabHandle) {
  const labName = () => lab.info.name;
  const webAddress = () => lab.info.hostAddress.replace(/\.\d+$/, `.${WEB_HOST}`);
  return {
    webAddress,
    /** verify with these arguments on SITE: its exit code, its JSON report, its stderr. */
    async verify(site: string, args: string[], timeoutMs: number): Promise<{ code: number; report: VerifyReport; stderr: string }> {
      const r = await hvcluster(labName(), ['verify', '-f', site, '--json', '--connect-timeout', '15', ...args], { timeoutMs });
      try {
        return { code: r.code, report: JSON.parse(r.stdout) as VerifyReport, stderr: r.stderr };
      } catch {
        throw new Error(`verify printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
      }
    },
    apply: (file: string, extra: string[] = []) => hvcluster(labName(), ['apply', '-f', file, '--yes', '--json', ...extra], { timeoutMs: 20 * MIN }),
    /** A node's record of fencing another (stonith_admin --history, XML): each attempt with its status. */
    async fenceHistory(from: string, target: string): Promise<FenceEvent[]> {
      return parseFenceHistory((await lab.ssh(from, `stonith_admin --history ${target} --verbose --output-as=xml`, { timeoutMs: 60_000 })).stdout);
    },
    /** Pacemaker's view from a node (crm_mon's XML, read with the installer's own parser). */
    async cluster(from: string) {
      return parseCrmMon((await lab.ssh(from, 'crm_mon -1 --output-as=xml', { timeoutMs: 60_000 })).stdout);
    },
    /** The page the guest web serves (`hvcluster migration test guest boot=ID`), fetched inside the lab's namespace, or '' when it does not answer. */
    async webPage(path = '/', timeoutMs = 3000): Promise<string> {
      const script = `fetch('http://${webAddress()}${path}', { signal: AbortSignal.timeout(${timeoutMs}) }).then((r) => r.text()).then((t) => process.stdout.write(t), () => {})`;
      return (await lab.exec([process.execPath, '-e', script], { timeoutMs: 30_000 })).stdout;
    },
    /** Writes the HA site with the guest web (a bootable qcow2 image made on hv1) declared on its preferred node; returns its path. */
    async webSite(): Promise<string> {
      const dir = mkdtempSync(join(tmpdir(), 'hvcluster-ha-e2e-'));
      const image = await bootableGuestImage(lab, 'hv1', `${webAddress()}/24`, dir, 'web', 'qcow2');
      const site = join(dir, 'site-guest.yaml');
      writeFileSync(site, `${labSiteYaml(lab.info, { ha: true }).trimEnd()}\n  guests:\n    - name: web\n      memory: 128MiB\n      preferredNode: ${HA_GUEST_NODE}\n      disks:\n        - image: ${image}\n`);
      return site;
    },
    /** Waits until a drill has powered a node off (the lab sees its VM stopped); returns it. */
    nodePoweredOff(drill: Promise<{ code: number; report: VerifyReport }>): Promise<string> {
      let ended: { code: number; report: VerifyReport } | undefined;
      void drill.then((r) => (ended = r)).catch(() => undefined);
      return waitFor(
        'the drill to power a node off',
        async () => {
          if (ended) throw new Error(`the drill ended before it powered a node off (exit ${ended.code}): ${JSON.stringify(ended.report.failover ?? ended.report.checks.filter((c) => c.status === 'error')).slice(0, 3000)}`);
          return (await status()).find((l) => l.name === labName())?.nodes.find((n) => NODES.includes(n.name as never) && n.state === 'stopped')?.name;
        },
        { timeoutMs: 12 * MIN, intervalMs: 500 },
      );
    },
    /** Waits until web-disk0 is Connected and UpToDate on both nodes, as FROM sees it. */
    async webDiskInSync(from: string): Promise<void> {
      await waitFor('web-disk0 Connected and UpToDate on both nodes', async () => ((await lab.ssh(from, 'drbdadm cstate web-disk0; drbdadm dstate web-disk0')).stdout.trim() === 'Connected\nUpToDate/UpToDate' ? true : undefined), { timeoutMs: 5 * MIN, intervalMs: 3000 });
    },
    /** Every check passes (warnings allowed), exit 0. */
    async expectClean(site: string): Promise<void> {
      const after = await this.verify(site, [], 6 * MIN);
      expect(after.report.checks.filter((c) => c.status === 'error').map((c) => `${c.code} ${c.server}: ${c.found}`)).toEqual([]);
      expect(after.code).toBe(0);
    },
  };
}
