/**
 * The replication-path step's probe (installer/remote/replication-path.sh) run for real under dash,
 * with a stand-in `ping` first on PATH that behaves like a path of a given MTU, and its findings.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePathProbe, pathProblem } from '../../../installer/engine/steps/replication-path.js';
import { REMOTE_DIR } from '../../../installer/paths.js';

const script = readFileSync(`${REMOTE_DIR}/replication-path.sh`, 'utf8');

/**
 * A `ping` that answers when the whole packet (payload + 28) fits `pathMtu`, else loses every probe, as
 * a bridge that drops big frames does; and an `ip` whose only IPv4 address is `own` (none when null).
 */
function fakePing(pathMtu: number | null, own: string | null = '198.19.1.1'): string {
  const dir = mkdtempSync(join(tmpdir(), 'hvc-ping-'));
  writeFileSync(join(dir, 'ip'), `#!/bin/sh\n${own ? `echo "3: ens4    inet ${own}/24 brd 198.19.1.255 scope global ens4"` : 'true'}\n`);
  chmodSync(join(dir, 'ip'), 0o755);
  const ping = join(dir, 'ping');
  writeFileSync(
    ping,
    `#!/bin/sh
size=56; count=1
while [ $# -gt 0 ]; do case $1 in -s) size=$2; shift;; -c) count=$2; shift;; esac; shift; done
echo "$*" >> ${dir}/calls
if [ ${pathMtu ?? 0} -gt 0 ] && [ $((size + 28)) -le ${pathMtu ?? 0} ]; then
  echo "$count packets transmitted, $count received, 0% packet loss, time 2003ms"; exit 0
fi
echo "$count packets transmitted, 0 received, 100% packet loss, time 2040ms"; exit 1
`,
  );
  chmodSync(ping, 0o755);
  return dir;
}

function run(pathMtu: number | null, args: string[], env: Record<string, string> = {}, own: string | null = '198.19.1.1') {
  const r = spawnSync('dash', ['-s', '--', ...args], { input: script, env: { PATH: `${fakePing(pathMtu, own)}:${process.env.PATH}`, ...env }, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

const hv1 = { name: 'hv1', address: '198.19.1.1', nic: 'ens4' };
const hv2 = { name: 'hv2', address: '198.19.1.2' };

describe('the replication path probe', () => {
  it('pings nothing, and says so at once, while no interface holds its own address (before the network step)', () => {
    const out = run(9000, ['9000', '198.19.1.1', '198.19.1.2'], {}, null);
    expect(out).toBe('noaddress 198.19.1.1\n');
    expect(parsePathProbe(out)).toEqual({ noPing: false, noAddress: '198.19.1.1', peers: [] });
  });

  it('passes a path that carries the MTU asked', () => {
    const out = run(9000, ['9000', '198.19.1.1', '198.19.1.2']);
    expect(out).toBe('peer 198.19.1.2 ok 9000\n');
    expect(pathProblem(hv1, hv2, parsePathProbe(out).peers[0])).toBeNull();
  });

  it('finds the largest packet a 1500-byte path carries when 9000 is asked, and says so with the figures', () => {
    const out = run(1500, ['9000', '198.19.1.1', '198.19.1.2']);
    expect(out.split('\n')[0]).toBe('peer 198.19.1.2 too-big 9000 1500');
    const probe = parsePathProbe(out);
    expect(probe.peers).toEqual([{ address: '198.19.1.2', status: 'too-big', mtu: 9000, largest: 1500, detail: ['3 packets transmitted, 0 received, 100% packet loss, time 2040ms'] }]);
    expect(pathProblem(hv1, hv2, probe.peers[0])).toBe(
      "the replication path from hv1 (198.19.1.1, ens4) to hv2 (198.19.1.2) does not carry MTU 9000: a 9000-byte don't-fragment packet does not get through " +
        '(ping -M do -s 8972: 3 packets transmitted, 0 received, 100% packet loss, time 2040ms), the largest that does is 1500 bytes (ping -M do -s 1472); DRBD would connect and then stall its sync',
    );
  });

  it('says when a peer does not answer at all (after waiting HVC_REACH_S seconds for the link)', () => {
    const out = run(null, ['1500', '198.19.1.1', '198.19.1.2', '198.19.1.3'], { HVC_REACH_S: '0' });
    const probe = parsePathProbe(out);
    expect(probe.peers.map((p) => [p.address, p.status])).toEqual([
      ['198.19.1.2', 'unreachable'],
      ['198.19.1.3', 'unreachable'],
    ]);
    expect(pathProblem(hv1, hv2, probe.peers[0])).toBe(
      "hv2's replication address 198.19.1.2 does not answer from 198.19.1.1 (ens4) at all (1 packets transmitted, 0 received, 100% packet loss, time 2040ms): check the cable and that both replication NICs are on the same link",
    );
  });

  it('reports a missing ping instead of failing', () => {
    const r = spawnSync('dash', ['-s', '--', '1500', '198.19.1.1', '198.19.1.2'], { input: script.replace(/^PATH=.*$/m, 'PATH=/nonexistent'), encoding: 'utf8' });
    expect(r.stdout).toBe('noping\n');
    expect(parsePathProbe(r.stdout).noPing).toBe(true);
  });
});
