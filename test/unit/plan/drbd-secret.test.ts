/**
 * The DRBD replication secret: read back from the nodes and kept (a second apply changes nothing),
 * generated once for a new cluster, written only to global_common.conf (mode 0600), and never shown:
 * plan diffs (text and JSON), the run log.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunLog } from '../../../installer/engine/run-log.js';
import { comparePlan } from '../../../installer/plan/diff.js';
import { DRBD_COMMON_PATH, drbdSecretIn, existingDrbdSecret, newDrbdSecret, scrubDrbdSecrets } from '../../../installer/plan/drbd-secret.js';
import { planCluster } from '../../../installer/plan/index.js';
import { mayHoldSecrets } from '../../../installer/plan/remote-files.js';
import { labFacts, loadSite } from './helpers.js';

const SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718';

function plan(drbdSecret?: string) {
  const loaded = loadSite({});
  return planCluster(loaded.answers, [labFacts(1), labFacts(2)], { file: 'site.yaml', ...(drbdSecret ? { drbdSecret } : {}) });
}

const common = (p: ReturnType<typeof plan>, node = 0) => p.nodes[node]!.files.find((f) => f.path === DRBD_COMMON_PATH)!;

describe('the DRBD shared secret', () => {
  it('is written with cram-hmac-alg sha256 into global_common.conf only, readable by root only, the same on every node', () => {
    const p = plan(SECRET);
    for (const node of [0, 1]) {
      const file = common(p, node);
      expect(file.mode).toBe(0o600);
      expect(file.content).toMatch(/^\t\tcram-hmac-alg sha256;$/m);
      expect(file.content).toContain(`\t\tshared-secret "${SECRET}";`);
    }
    const elsewhere = p.nodes.flatMap((n) => n.files).filter((f) => f.path !== DRBD_COMMON_PATH && f.content.includes(SECRET));
    expect(elsewhere.map((f) => f.path)).toEqual([]);
  });

  it('is read back from the nodes (the first node that has one), else generated: 48 hex characters, new each time', () => {
    const text = common(plan(SECRET)).content;
    expect(drbdSecretIn(text)).toBe(SECRET);
    expect(existingDrbdSecret([null, text])).toBe(SECRET);
    expect(existingDrbdSecret([text.replace(SECRET, 'other'), text])).toBe('other');
    expect(existingDrbdSecret([null, '# shared-secret "commented";\nnet { protocol C; }\n'])).toBeNull();
    expect(drbdSecretIn('net {\n\tshared-secret unquoted;\n}')).toBe('unquoted');
    const fresh = newDrbdSecret();
    expect(fresh).toMatch(/^[0-9a-f]{48}$/);
    expect(newDrbdSecret()).not.toBe(fresh);
    // The plan of an existing cluster renders the same file again: nothing to change.
    expect(common(plan(drbdSecretIn(text)!)).content).toBe(text);
  });

  it('is never in a plan diff or the planned content shown, even when it changes', () => {
    const p = plan(SECRET);
    const before = common(p).content.replace(SECRET, 'the-old-secret');
    const current = [new Map([[DRBD_COMMON_PATH, null]]), new Map([[DRBD_COMMON_PATH, before]])];
    const comparison = comparePlan(p, current);
    const shown = JSON.stringify(comparison);
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain('the-old-secret');
    const [created, changed] = comparison.nodes.map((n) => n.files.find((f) => f.path === DRBD_COMMON_PATH)!);
    expect(created!.change).toBe('create');
    expect(created!.diff).toContain('+\t\tshared-secret "***";');
    expect(changed!.change).toBe('change');
    expect(changed!.diff).toContain('-\t\tshared-secret "***";\n+\t\tshared-secret "***";');
    expect(scrubDrbdSecrets('shared-secret "x\\"y"; shared-secret bare;')).toBe('shared-secret "***"; shared-secret ***;');
  });

  it('is redacted from the run log once learnt, and reads of DRBD and SSH files are recorded by size only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvc-secret-'));
    try {
      const log = new RunLog(join(dir, 'run.log'), []);
      log.addSecret(SECRET);
      log.write('hv1', `upload failed: shared-secret "${SECRET}"`);
      expect(readFileSync(join(dir, 'run.log'), 'utf8')).toContain('shared-secret "***"');
      expect(readFileSync(join(dir, 'run.log'), 'utf8')).not.toContain(SECRET);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(['/etc/drbd.d/global_common.conf', '/root/.ssh/authorized_keys', '/etc/hosts', '/etc/hvcluster/backup/passphrase'].map(mayHoldSecrets)).toEqual([true, true, false, true]);
  });
});
