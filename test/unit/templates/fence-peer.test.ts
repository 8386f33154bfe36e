/**
 * DRBD 8.4's fence-peer handler (templates/drbd-fence-peer.sh.hbs) as rendered for a node: POSIX sh
 * that shellcheck and dash accept; crm-fence-peer.sh's success passed on only while the node's
 * partition has quorum, its failure passed on as it is. Run with stand-ins for crm-fence-peer.sh,
 * crm_node and logger on PATH (what each returned is the case under test).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemplateEnvironment } from '../../../installer/render/environment.js';
import { FENCE_PEER_HANDLER, FILE_RULES } from '../../../installer/plan/index.js';
import { twoNode84 } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'hvc-fence-peer-'));
const script = join(dir, 'drbd-fence-peer.sh');
writeFileSync(script, new TemplateEnvironment().render('drbd-fence-peer.sh.hbs', twoNode84.models[0]!), { mode: 0o755 });

function stub(name: string, body: string): void {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
}

/** Runs the handler with crm-fence-peer.sh exiting `cfp` and crm_node --quorum printing `quorum` ('' = no answer). */
function handler(cfp: number, quorum: string): { status: number | null; args: string; logged: string } {
  stub('crm-fence-peer.sh', `echo "$@ $DRBD_RESOURCE" > ${dir}/args; exit ${cfp}`);
  stub('crm_node', quorum === '' ? 'exit 1' : `[ "$1" = --quorum ] && echo ${quorum}`);
  stub('logger', `echo "$@" > ${dir}/logged`);
  writeFileSync(join(dir, 'logged'), '');
  const r = spawnSync('sh', [script, '--timeout', '90'], {
    encoding: 'utf8',
    env: { PATH: `${dir}:/usr/bin:/bin`, HVC_CRM_FENCE_PEER: join(dir, 'crm-fence-peer.sh'), DRBD_RESOURCE: 'web-disk0' },
  });
  return { status: r.status, args: readFileSync(join(dir, 'args'), 'utf8').trim(), logged: readFileSync(join(dir, 'logged'), 'utf8') };
}

describe('drbd-fence-peer.sh', () => {
  it('passes shellcheck (POSIX sh) and dash -n', () => {
    const sc = spawnSync('shellcheck', ['-s', 'sh', script], { encoding: 'utf8' });
    expect(sc.stdout + sc.stderr).toBe('');
    expect(sc.status).toBe(0);
    expect(spawnSync('dash', ['-n', script], { encoding: 'utf8' }).status).toBe(0);
  });

  it('is installed where global_common.conf names it, executable, on HA clusters with DRBD 8.4 only', () => {
    const rule = FILE_RULES.find((r) => r.template === 'drbd-fence-peer.sh.hbs')!;
    expect(rule).toMatchObject({ path: FENCE_PEER_HANDLER, mode: 0o755 });
    const common = new TemplateEnvironment().render('drbd-global-common.conf.hbs', twoNode84.models[0]!);
    expect(common).toContain(`fence-peer "${FENCE_PEER_HANDLER}";`);
    expect(rule.when!(twoNode84.models[0]!, 'debian')).toBe(true);
    expect(rule.when!({ ...twoNode84.models[0]!, ha: undefined }, 'debian')).toBe(false);
    expect(rule.when!({ ...twoNode84.models[0]!, drbd: { ...twoNode84.models[0]!.drbd, major: '9' } }, 'debian')).toBe(false);
  });

  it("passes crm-fence-peer.sh's answer on while the partition is quorate, with DRBD's arguments and environment", () => {
    for (const rc of [3, 4, 5, 7]) expect(handler(rc, '1'), `exit ${rc}`).toMatchObject({ status: rc, args: '--timeout 90 web-disk0', logged: '' });
  });

  it('fails (I/O stays frozen) when crm-fence-peer.sh succeeded in a partition without quorum, and logs why', () => {
    for (const rc of [4, 5, 7]) {
      const r = handler(rc, '0');
      expect(r.status, `exit ${rc}`).toBe(1);
      expect(r.logged).toContain(`web-disk0: crm-fence-peer.sh returned ${rc}, but this node's cluster partition has no quorum (crm_node --quorum: 0): I/O stays frozen`);
    }
    // crm_node not answering counts as no quorum.
    expect(handler(5, '')).toMatchObject({ status: 1 });
  });

  it("passes crm-fence-peer.sh's failure on as it is", () => {
    expect(handler(1, '1')).toMatchObject({ status: 1, logged: '' });
    expect(handler(6, '0')).toMatchObject({ status: 6, logged: '' });
  });
});
