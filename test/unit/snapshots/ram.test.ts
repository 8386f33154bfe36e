/**
 * Snapshots with RAM (installer/snapshots/ram.ts): snapshot.sh's arguments, what its create and
 * restore print, and the two sequences against a fake node: a create --ram that ends with the guest
 * restored (by the script, else by a restore from here) or with an error naming the file and the
 * command; a rollback's resume that fails with the --no-ram hint.
 */
import { describe, expect, it } from 'vitest';
import { EXIT, RemoteCommandError } from '../../../installer/errors.js';
import type { ScriptAction } from '../../../installer/engine/change.js';
import { describeConsistency, parseCreateOutput, parseRestore } from '../../../installer/snapshots/outcome.js';
import type { SnapshotCreate } from '../../../installer/snapshots/plan.js';
import { createArgs, createWithRam, ramTimeoutMs, removeArgs, restoreArgs, resumeFromRam, type RamHost } from '../../../installer/snapshots/ram.js';

const FILE = '/var/lib/hvcluster/snapshots/db/warm.ram';
const PLAN: SnapshotCreate = {
  guest: 'db',
  name: 'warm',
  stamp: '20261208t101500z',
  node: 'hv2',
  running: true,
  resources: ['db-disk0', 'db-disk1'],
  size: { kind: 'full' },
  needBytes: 1,
  freeBytes: 2,
  ram: { file: FILE, memoryMiB: 128, needBytes: 208_666_624, freeBytes: 4 * 2 ** 30 },
};
const CREATED = ['freeze skipped', 'thaw none', 'consistency ram', 'snapshot db-disk0 db-disk0.snap.warm 33550336', 'snapshot db-disk1 db-disk1.snap.warm 67104768', `ram ${FILE} 140000000`].join('\n');

/** A fake node: each mutate answered by `answer` (a string is stdout; an Error is thrown), every call kept. */
function fakeHost(answer: (args: readonly string[]) => string | Error) {
  const calls: { description: string; args: readonly string[]; timeoutMs?: number }[] = [];
  const host: RamHost = {
    server: 'hv2',
    mutate: async (description, action, options) => {
      const args = (action as ScriptAction).args;
      calls.push({ description, args, ...(options?.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
      const out = answer(args);
      if (out instanceof Error) throw out;
      return { exitCode: 0, stdout: out, stderr: '', durationMs: 1 };
    },
  };
  return { host, calls };
}

const failed = (stderr: string) => new RemoteCommandError('hv2', 'sh -s -- ...', { exitCode: 1, stdout: '', stderr });

async function caught(p: Promise<unknown>): Promise<RemoteCommandError> {
  try {
    await p;
  } catch (error) {
    return error as RemoteCommandError;
  }
  throw new Error('expected a rejection');
}

describe("snapshot.sh's arguments", () => {
  it('create: --ram FILE NEED_BYTES first and no freeze; without it the freeze seconds of a running guest', () => {
    expect(createArgs('hvdata', PLAN, 10)).toEqual(['create', '--ram', FILE, '208666624', 'hvdata', 'db', 'warm', '20261208t101500z', '0', 'full', 'db-disk0', 'db-disk1']);
    expect(createArgs('hvdata', { ...PLAN, ram: null, size: { kind: 'percent', percent: 20 } }, 10)).toEqual(['create', 'hvdata', 'db', 'warm', '20261208t101500z', '10', '20', 'db-disk0', 'db-disk1']);
    expect(createArgs('hvdata', { ...PLAN, ram: null, running: false }, 10)[5]).toBe('0');
  });

  it('restore and remove (with the RAM file, or only it)', () => {
    expect(restoreArgs('db', FILE)).toEqual(['restore', 'db', FILE]);
    expect(removeArgs('hvdata', ['db-disk0.snap.warm'], FILE)).toEqual(['remove', '--ram', FILE, 'hvdata', 'db-disk0.snap.warm']);
    expect(removeArgs('hvdata', [], FILE)).toEqual(['remove', '--ram', FILE, 'hvdata']);
    expect(removeArgs('hvdata', ['web-disk0.snap.a'], null)).toEqual(['remove', 'hvdata', 'web-disk0.snap.a']);
  });

  it('a save or restore may take 5 minutes plus 40 ms per MiB of memory', () => {
    expect(ramTimeoutMs(128)).toBe(306_000);
    expect(ramTimeoutMs(65536)).toBe(300_000 + 2_622_000);
  });
});

describe('what snapshot.sh prints with RAM', () => {
  it("create: the file, its size, the restore's result; said as consistent with its RAM", () => {
    const ok = parseCreateOutput(`${CREATED}\nrestore ok\n`);
    expect(ok).toMatchObject({ consistency: 'ram', freeze: { result: 'skipped' }, ram: { file: FILE, bytes: 140000000, restore: { result: 'ok' } } });
    expect(describeConsistency(ok, 10)).toBe(`consistent with its RAM: the guest was saved (virsh save, 134 MiB in ${FILE}) while its disks were snapshotted, then restored from it`);
    expect(parseCreateOutput(`${CREATED}\nrestore failed Failed to restore domain\n`).ram?.restore).toEqual({ result: 'failed', reason: 'Failed to restore domain' });
    expect(parseCreateOutput('consistency agent\nsnapshot a a.snap.x 1\n').ram).toBeNull();
  });

  it('restore: ok, running or none', () => {
    expect(parseRestore('restore ok\n')).toBe('ok');
    expect(parseRestore('restore running\n')).toBe('running');
    expect(parseRestore('restore none\n')).toBe('none');
    expect(() => parseRestore('')).toThrow('snapshot.sh restore printed no result');
  });
});

describe('createWithRam', () => {
  it('one script call when it ends well: the outcome, no restore from here', async () => {
    const { host, calls } = fakeHost(() => `${CREATED}\nrestore ok\n`);
    expect((await createWithRam(host, 'snapshot warm', 'hvdata', PLAN)).ram).toEqual({ file: FILE, bytes: 140000000, restore: { result: 'ok' } });
    expect(calls.map((c) => c.args[0])).toEqual(['create']);
    expect(calls[0]!.timeoutMs).toBe(2 * ramTimeoutMs(128));
  });

  it('the snapshot taken but the guest not restored: an error naming the file and the command that restores it', async () => {
    const { host } = fakeHost(() => `${CREATED}\nrestore failed unsupported configuration\n`);
    const error = await caught(createWithRam(host, 'snapshot warm', 'hvdata', PLAN));
    expect(error.exitCode).toBe(EXIT.remote);
    expect(error.message).toContain(`hv2: command \`virsh restore ${FILE}\` failed: guest db is stopped, its RAM and device state are in ${FILE} on hv2 (snapshot warm itself was taken)`);
    expect(error.message).toContain('unsupported configuration');
    expect(error.hint).toBe(`resume it from there on hv2, as root: \`virsh restore ${FILE}\``);
  });

  it('the script failed (or was cut off): the guest restored from here unless it runs, then the failure reported', async () => {
    const snapshotFailed = failed('Insufficient free space');
    for (const restored of ['restore running\n', 'restore ok\n']) {
      const { host, calls } = fakeHost((args) => (args[0] === 'create' ? snapshotFailed : restored));
      expect(await caught(createWithRam(host, 'snapshot warm', 'hvdata', PLAN))).toBe(snapshotFailed);
      expect(calls.map((c) => c.args)).toEqual([createArgs('hvdata', PLAN, 0), ['restore', 'db', FILE]]);
      expect(calls[1]!.description).toBe(`make sure guest db runs on hv2 (restored from ${FILE} unless it does: snapshot warm failed)`);
    }
  });

  it('the script failed and the restore from here too: the error names the file, the command and both reasons', async () => {
    const { host } = fakeHost((args) => (args[0] === 'create' ? failed('connection lost') : failed('error: Failed to restore domain')));
    const error = await caught(createWithRam(host, 'snapshot warm', 'hvdata', PLAN));
    expect(error.message).toContain(`failed: guest db is stopped, its RAM and device state are in ${FILE} on hv2 (snapshot warm failed: connection lost)`);
    expect(error.message).toContain('error: Failed to restore domain');
    expect(error.hint).toContain(`virsh restore ${FILE}`);
  });

  it('the script failed and left the guest stopped with no file: said, with guest start', async () => {
    const { host } = fakeHost((args) => (args[0] === 'create' ? failed('virsh save failed') : 'restore none\n'));
    const error = await caught(createWithRam(host, 'snapshot warm', 'hvdata', PLAN));
    expect(error.message).toContain(`and guest db does not run on hv2: no RAM file (${FILE}) was left to resume it from`);
    expect(error.hint).toBe('start it: `hvcluster guest start db`');
  });
});

describe('resumeFromRam', () => {
  it("restores the guest from the snapshot's file", async () => {
    const { host, calls } = fakeHost(() => 'restore ok\n');
    await resumeFromRam(host, 'db', 'warm', FILE, 128);
    expect(calls).toEqual([{ description: `resume guest db on hv2 from the RAM of snapshot warm (virsh restore ${FILE})`, args: ['restore', 'db', FILE], timeoutMs: ramTimeoutMs(128) + 900_000 }]);
  });

  it('a restore that fails (the definition changed since): said clearly, with the --no-ram rollback as the way out', async () => {
    const { host } = fakeHost(() => failed('error: unsupported configuration: Target domain max memory 262144 does not match source 131072'));
    const error = await caught(resumeFromRam(host, 'db', 'warm', FILE, 128));
    expect(error.message).toContain('failed: guest db is stopped, its disks are back at snapshot warm on every replica, but its RAM did not restore');
    expect(error.message).toContain("the guest's definition, its memory size or devices, may have changed since");
    expect(error.message).toContain('does not match source 131072');
    expect(error.hint).toBe('roll back its disks only, the guest started cold: `hvcluster snapshot rollback db warm --yes --no-ram`');
    const gone = await caught(resumeFromRam(fakeHost(() => 'restore none\n').host, 'db', 'warm', FILE, 128));
    expect(gone.message).toContain('but its RAM file is gone');
    expect(gone.hint).toContain('--no-ram');
  });
});
