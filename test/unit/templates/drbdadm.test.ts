/**
 * The rendered DRBD files checked by drbd-utils' own parser (drbdadm 9.22, no kernel module needed):
 *
 *   DRBD_DRIVER_VERSION_OVERRIDE=8.4.11|9.2.12 DRBD_DONT_WARN_ON_VERSION_MISMATCH=1 __DRBD_NODE__=<host> \
 *     drbdadm -c DIR/drbd.conf -d dump <resource>
 *
 * - DRBD_DRIVER_VERSION_OVERRIDE makes drbdadm act as if that kernel module were loaded: 8.4.x hands the
 *   file to its 8.4 parser (/lib/drbd/drbdadm-84), 9.x uses the DRBD 9 parser.
 * - __DRBD_NODE__ replaces uname -n, so each `on <host>` section is checked as that host would see it.
 * - `-d dump RES` prints the resource with the common section merged in. (`dump all` without -d exits 10
 *   because the replication addresses are not local to this machine: a warning for `dump RES`.)
 *
 * drbdadm checks keywords, sections, node-ids, connection-mesh names, minor/port conflicts (and, in its
 * DRBD 9 parser, option values); it does not check option values for 8.4 (the module does that on
 * `drbdadm adjust`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DrbdMajor } from '../../../installer/plan/model.js';
import { TemplateEnvironment } from '../../../installer/render/environment.js';
import { copyOf, FIXTURES, pick, RESOURCE_TEMPLATE, threeNode9, twoNode84, type ClusterFixture } from './fixtures.js';

const DRBDADM = ['/usr/sbin/drbdadm', '/sbin/drbdadm'].find((path) => existsSync(path));
const env = new TemplateEnvironment();
const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

interface DrbdConfig {
  globalCommon: string;
  resources: Record<string, string>;
}

function rendered(fixture: ClusterFixture): DrbdConfig {
  return {
    globalCommon: env.render('drbd-global-common.conf.hbs', pick(fixture.models, 0)),
    resources: Object.fromEntries(fixture.resources.map((resource) => [resource.name, env.render(RESOURCE_TEMPLATE, resource)])),
  };
}

/** Writes the files as /etc/drbd.d would hold them, with a drbd.conf including them like Debian's. */
function writeConfig(config: DrbdConfig): string {
  const dir = mkdtempSync(join(tmpdir(), 'hv-drbd-'));
  tempDirs.push(dir);
  writeFileSync(join(dir, 'global_common.conf'), config.globalCommon);
  for (const [name, text] of Object.entries(config.resources)) writeFileSync(join(dir, `${name}.res`), text);
  writeFileSync(join(dir, 'drbd.conf'), `include "${dir}/global_common.conf";\ninclude "${dir}/*.res";\n`);
  return join(dir, 'drbd.conf');
}

interface DrbdadmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function drbdadm(major: DrbdMajor, host: string, configFile: string, ...args: string[]): DrbdadmResult {
  const result = spawnSync(DRBDADM ?? 'drbdadm', ['-c', configFile, ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      DRBD_DRIVER_VERSION_OVERRIDE: major === '9' ? '9.2.12' : '8.4.11',
      DRBD_DONT_WARN_ON_VERSION_MISMATCH: '1',
      __DRBD_NODE__: host,
    },
  });
  // stderr without drbdadm's notes about the environment variables and the missing modinfo
  const stderr = result.stderr
    .split('\n')
    .filter((line) => line.trim() !== '' && !/__DRBD_NODE__|PRETENDING|modinfo/.test(line))
    .join('\n');
  return { status: result.status, stdout: result.stdout, stderr };
}

function dump(major: DrbdMajor, host: string, configFile: string, resource: string): DrbdadmResult {
  return drbdadm(major, host, configFile, '-d', 'dump', resource);
}

describe('rendered DRBD configuration accepted by drbdadm (drbd-utils is a test prerequisite, see .ci/run)', () => {
  it('is drbd-utils 9.x, whose drbdadm hands 8.4 configurations to drbdadm-84', () => {
    const version = execFileSync(DRBDADM ?? 'drbdadm', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(version).toMatch(/DRBDADM_VERSION=9\./);
    expect(existsSync('/lib/drbd/drbdadm-84') || existsSync('/usr/lib/drbd/drbdadm-84')).toBe(true);
  });

  describe.each(FIXTURES)('$id', (fixture) => {
    const configFile = writeConfig(rendered(fixture));
    const cases = fixture.resources.flatMap((resource) => resource.hosts.map((host) => [resource.name, host.name, resource] as const));

    it.each(cases)('%s as seen from %s', (name, host, resource) => {
      const result = dump(fixture.major, host, configFile, name);
      expect(result.stderr).not.toMatch(/error|expected|missing|conflicting/i);
      expect(result.status, result.stderr).toBe(0);
      const out = result.stdout;
      expect(out).toContain(`resource ${name} {`);
      // drbdadm prints an option only when it differs from the default (no)
      if (resource.allowTwoPrimaries) expect(out).toContain('allow-two-primaries yes;');
      else expect(out).not.toContain('allow-two-primaries yes');
      // the common section reached the resource
      expect(out).toMatch(/after-sb-0pri\s+disconnect;/);
      expect(out).toMatch(/after-sb-1pri\s+disconnect;/);
      expect(out).toMatch(/after-sb-2pri\s+disconnect;/);
      expect(out).toMatch(/protocol\s+C;/);
      expect(out).toMatch(/resync-rate\s+100M;/);
      for (const peer of resource.hosts) expect(out).toContain(`address          ipv4 ${peer.address}:${resource.port};`);
      if (fixture.major === '9') {
        // the DRBD 9 parser: node-ids and the mesh
        for (const peer of resource.hosts) expect(out).toMatch(new RegExp(`on ${peer.name} \\{\\s+node-id ${peer.nodeId};`));
        expect(out).toContain(`hosts ${resource.hosts.map((peer) => peer.name).join(' ')};`);
        expect(out).toMatch(/auto-promote\s+no;/);
      } else {
        // the 8.4 parser prints device, disk and the disk options inside each host section and knows no node-ids
        expect(out).toMatch(new RegExp(`on ${pick(resource.hosts, 0).name} \\{\\s+disk \\{[^}]*\\}\\s+device\\s+${resource.device} minor ${resource.minor};`));
        expect(out).not.toContain('node-id');
      }
    });

    it('the global section turns usage reporting off', () => {
      const result = drbdadm(fixture.major, pick(fixture.models, 0).node.name, configFile, '-d', 'dump', 'all');
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/global \{\s+usage-count no;/);
    });
  });

  describe('rejections, so that the checks above mean something', () => {
    function expectRejected(result: DrbdadmResult, message: RegExp): void {
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }

    it('rejects a syntax error (a missing semicolon)', () => {
      const config = rendered(twoNode84);
      config.resources['vm-test'] = (config.resources['vm-test'] ?? '').replace('meta-disk internal;', 'meta-disk internal');
      expectRejected(dump('8.4', 'hv1', writeConfig(config), 'vm-test'), /Parse error/);
    });

    it('rejects an unknown option', () => {
      const config = rendered(threeNode9);
      config.globalCommon = config.globalCommon.replace('usage-count no;', 'usage-count no;\n\tno-such-option yes;');
      expectRejected(dump('9', 'hv1', writeConfig(config), 'vm-test'), /no-such-option/);
    });

    it('rejects the DRBD 9 common section (auto-promote) under the 8.4 parser', () => {
      const config = rendered(twoNode84);
      config.globalCommon = rendered(threeNode9).globalCommon;
      expectRejected(dump('8.4', 'hv1', writeConfig(config), 'vm-test'), /auto-promote/);
    });

    it('rejects a three-host DRBD 9 resource without node-ids', () => {
      const config = rendered(threeNode9);
      config.resources['vm-test'] = (config.resources['vm-test'] ?? '').replace(/\t\tnode-id \d+;\n/g, '');
      expectRejected(dump('9', 'hv1', writeConfig(config), 'vm-test'), /node-id/);
    });

    it('rejects an invalid option value in the DRBD 9 parser', () => {
      const config = rendered(threeNode9);
      config.globalCommon = config.globalCommon.replace('after-sb-0pri disconnect;', 'after-sb-0pri discard-everything;');
      expectRejected(dump('9', 'hv1', writeConfig(config), 'vm-test'), /not valid/);
    });

    it('rejects two resources on the same minor', () => {
      const model = copyOf(twoNode84);
      pick(model.resources, 1).minor = pick(model.resources, 0).minor;
      pick(model.resources, 1).device = pick(model.resources, 0).device;
      expectRejected(dump('8.4', 'hv1', writeConfig(rendered(model)), 'vm-test'), /conflicting use of device-minor/);
    });

    it('rejects a host that has no `on` section (node name differs from uname -n)', () => {
      expectRejected(dump('8.4', 'hv9', writeConfig(rendered(twoNode84)), 'vm-test'), /not defined in your config/);
    });
  });
});
