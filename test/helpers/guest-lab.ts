/**
 * The customer's guests on the shared two-node lab, as the guests and backups e2e files use them:
 * `web` and `db` booting the test guest (test/helpers/guest-image.ts) at hosts 201 and 202 of the
 * lab's management subnet, the site with them, their pages fetched from inside the lab's namespace,
 * db's data on its second disk, DRBD's online verify.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseMd5 } from '../../installer/verify/migration/guest.js';
import { labSiteYaml } from '../lab/site.js';
import { waitFor } from '../lab/util.js';
import { bootableGuestImage } from './guest-image.js';
import type { LabHandle } from './lab.js';

export const GUEST_NODES = ['hv1', 'hv2'] as const;
const MIN = 60_000;

export interface GuestLab {
  /** The address of host N of the lab's management subnet (the guests: 201 web, 202 db). */
  guestAddress(host: number): string;
  /** web (a qcow2 image) and db (a raw image and an empty 32 MiB disk, preferring hv2), as YAML lines under spec.guests. */
  guestsYaml(): string;
  /** Makes web's and db's images on the installer's machine (once). */
  makeImages(): Promise<void>;
  readonly webImage: string;
  readonly dbImage: string;
  /** The lab's site with `guests` (YAML lines under spec) appended, written as NAME.yaml; returns its path. */
  siteWith(name: string, guests: string): string;
  /** A page the test guest serves (default its index), fetched from inside the lab's namespace (as the installer would), or '' when it does not answer. */
  page(host: number, path?: string, timeoutMs?: number): Promise<string>;
  /** The md5 of 4 MiB of db's second disk (from `atMiB`) as db reads it (`write`: after writing new random data there). */
  dbData(cgi: 'write' | 'check', atMiB?: number): Promise<string>;
  /** DRBD's online verify of `res` from hv1 (every block compared by checksum with hv2): the blocks found out of sync on each node. */
  onlineVerify(res: string): Promise<Record<string, string>>;
}

export function guestLab(lab: LabHandle, dir: string): GuestLab {
  const images = { web: '', db: '' };
  const guestAddress = (host: number) => lab.info.hostAddress.replace(/\.\d+$/, `.${host}`);
  const page = async (host: number, path = '/', timeoutMs = 3000): Promise<string> => {
    const script = `fetch('http://${guestAddress(host)}${path}', { signal: AbortSignal.timeout(${timeoutMs}) }).then((r) => r.text()).then((t) => process.stdout.write(t), () => {})`;
    return (await lab.exec([process.execPath, '-e', script], { timeoutMs: 30_000 })).stdout;
  };
  return {
    guestAddress,
    get webImage() {
      return images.web;
    },
    get dbImage() {
      return images.db;
    },
    async makeImages() {
      if (images.web) return;
      images.web = await bootableGuestImage(lab, 'hv1', `${guestAddress(201)}/24`, dir, 'web', 'qcow2');
      images.db = await bootableGuestImage(lab, 'hv1', `${guestAddress(202)}/24`, dir, 'db', 'raw');
    },
    guestsYaml: () => `    - name: web
      memory: 128MiB
      disks:
        - image: ${images.web}
    - name: db
      memory: 128MiB
      preferredNode: hv2
      disks:
        - image: ${images.db}
        - size: 32MiB
`,
    siteWith(name, guests) {
      const path = join(dir, `${name}.yaml`);
      writeFileSync(path, `${labSiteYaml(lab.info).trimEnd()}\n${guests ? `  guests:\n${guests}` : ''}`);
      return path;
    },
    page,
    async dbData(cgi, atMiB = 0) {
      const md5 = parseMd5(await page(202, `/cgi-bin/${cgi}?dev=vdb&at=${atMiB}`, 60_000));
      expect(md5, `db's ${cgi} CGI`).not.toBeNull();
      return md5!;
    },
    async onlineVerify(res) {
      const since = (await lab.ssh('hv1', 'date +%s')).stdout.trim();
      const minor = (await lab.ssh('hv1', `drbdadm sh-minor ${res}`)).stdout.trim();
      expect((await lab.ssh('hv1', `drbdadm verify ${res}`)).code).toBe(0);
      await waitFor(`online verify of ${res}`, async () => ((await lab.ssh('hv1', `journalctl -k --since=@${since} --no-pager -o cat | grep -E 'drbd${minor}: Online verify done|${res}.*Online verify done'`)).code === 0 ? true : undefined), { timeoutMs: 5 * MIN, intervalMs: 2000 });
      const oos: Record<string, string> = {};
      for (const node of GUEST_NODES) oos[node] = (await lab.ssh(node, `awk '$1 == "${minor}:" { f = 1 } f && /oos:/ { for (i = 1; i <= NF; i++) if ($i ~ /^oos:/) { sub(/^oos:/, "", $i); print $i; exit } }' /proc/drbd`)).stdout.trim();
      return oos;
    },
  };
}
