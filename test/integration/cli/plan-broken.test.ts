/**
 * "No server was touched": `hvcluster plan -f FILE` (the real CLI, in a child process) on broken answer
 * files whose nodes point at TCP listeners of this test on 127.0.0.1. Each must end with exit code 3,
 * its exact file:line:col message on stderr, nothing on stdout, and no connection accepted by either
 * listener. A valid file pointing at the same listeners proves they do count what reaches them.
 *
 * The CLI runs asynchronously (execFile, not execFileSync): the listeners live in this process's event
 * loop, and a blocked loop would accept nothing whatever the CLI did.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** A TCP listener on 127.0.0.1 that counts the connections it accepts and drops each at once. */
interface CountingListener {
  port: number;
  accepted: number;
  close(): Promise<void>;
}

function countingListener(): Promise<CountingListener> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<Socket>();
    const server: Server = createServer((socket) => {
      listener.accepted++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.destroy();
    });
    const listener: CountingListener = {
      port: 0,
      accepted: 0,
      close: () =>
        new Promise<void>((done) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => done());
        }),
    };
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      listener.port = (server.address() as { port: number }).port;
      resolve(listener);
    });
  });
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], home: string): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home, // no ~/.ssh of the person running the tests
    NO_COLOR: '1',
    HVB_TEST_PASSWORD: 'not-a-real-password',
  };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/hvcluster.js', ...args], { cwd: REPO, env, timeout: 45_000 }, (error, stdout, stderr) => {
      if (error && typeof (error as NodeJS.ErrnoException).code === 'string') return reject(error);
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A valid two-node answer file whose nodes are reached at the two listeners (with a password from the environment). */
function siteYaml(port1: number, port2: number): string {
  return `# written by test/integration/cli/plan-broken.test.ts
apiVersion: hvcluster/v1
kind: Cluster
metadata:
  name: acme-prod
spec:
  nodes:
    - name: hv1
      ssh: { address: 127.0.0.1, port: ${port1}, passwordFrom: { env: HVB_TEST_PASSWORD } }
      management:
        interface: ens3
        address: 198.18.1.11/24
        gateway: 198.18.1.1
      replication:
        interface: ens4
        address: 198.19.1.11/24
      storage:
        disk: /dev/disk/by-id/virtio-hv1-data
    - name: hv2
      ssh: { address: 127.0.0.1, port: ${port2}, passwordFrom: { env: HVB_TEST_PASSWORD } }
      management:
        interface: ens3
        address: 198.18.1.12/24
        gateway: 198.18.1.1
      replication:
        interface: ens4
        address: 198.19.1.12/24
      storage:
        disk: /dev/disk/by-id/virtio-hv2-data
`;
}

function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`test bug: ${JSON.stringify(from)} is not in the answer file`);
  return text.replace(from, to);
}

interface BrokenCase {
  name: string;
  /** Turns the valid file into the broken one. */
  breakIt: (text: string, ports: [number, number]) => string;
  /** The issues as printed, without the leading `FILE:`; `${P1}` stands for the first listener's port. */
  issues: string[];
  /** A text that must not appear anywhere in the output. */
  secret?: string;
}

const cases: BrokenCase[] = [
  {
    name: 'the SSH port in quotes',
    breakIt: (t, [p1]) => edit(t, `port: ${p1},`, `port: "${p1}",`),
    issues: ['9:40 spec.nodes[0].ssh.port: expected a port number from 1 to 65535, found the string "${P1}"; write it without quotes'],
  },
  {
    name: 'wipe: "yes" (a string)',
    breakIt: (t) => edit(t, 'disk: /dev/disk/by-id/virtio-hv2-data\n', 'disk: /dev/disk/by-id/virtio-hv2-data\n        wipe: "yes"\n'),
    issues: ['30:15 spec.nodes[1].storage.wipe: expected true or false (true erases everything on the disk), found "yes"'],
  },
  {
    name: 'a misspelled key, and HA without fence devices or a witness',
    breakIt: (t) => `${edit(t, '        address: 198.18.1.11/24', '        adress: 198.18.1.11/24')}  ha: {}\n`,
    issues: [
      "12:9 spec.nodes[0].management.adress: unknown key 'adress', did you mean 'address'?",
      // hv1 fails the schema (its misspelled key), so only hv2's fence device is checked.
      "19:7 spec.nodes[1]: node hv2 has no bmc: HA never runs without a fence device (a survivor must power hv2 off before it starts hv2's guests); add bmc: { address, user, passwordFrom } for hv2's IPMI controller (iDRAC, iLO, XClarity...)",
      '30:7 spec.ha: two nodes need a witness: it is the third vote that lets the survivor tell a dead peer from a cut link (without it, each node could fence the other); add witness: { address: ... } for a small third server that runs corosync-qnetd',
    ],
  },
  {
    name: 'a duplicate replication address',
    breakIt: (t) => edit(t, '198.19.1.12/24', '198.19.1.11/24'),
    issues: [
      '27:18 spec.nodes[1].replication.address: address 198.19.1.11 is already used by spec.nodes[0].replication.address; expected a different address for each node and network',
    ],
  },
  {
    name: 'a missing required key',
    breakIt: (t) => edit(t, '      replication:\n        interface: ens4\n        address: 198.19.1.12/24\n', ''),
    issues: ["19:7 spec.nodes[1].replication: missing required key 'replication', expected a mapping with keys interface, address"],
  },
  {
    name: 'a quote never closed (bad YAML)',
    breakIt: (t) => edit(t, 'gateway: 198.18.1.1\n      replication:\n        interface: ens4\n        address: 198.19.1.11/24', 'gateway: "198.18.1.1\n      replication:\n        interface: ens4\n        address: 198.19.1.11/24'),
    issues: ['13:18 the quoted string that starts here is never closed; expected a closing " at the end of the value'],
  },
  {
    name: 'an inline sudo password (never echoed)',
    breakIt: (t, [, p2]) => edit(t, `127.0.0.1, port: ${p2},`, `127.0.0.1, user: debian, sudoPassword: s3cr3t-sudo, port: ${p2},`),
    issues: [
      "20:48 spec.nodes[1].ssh.sudoPassword: inline secrets are not accepted: remove 'sudoPassword' and write sudoPasswordFrom: { env: VARIABLE_NAME } or sudoPasswordFrom: { file: PATH } (the secret stays out of the answer file)",
    ],
    secret: 's3cr3t-sudo',
  },
  {
    name: 'offline packages without their path',
    breakIt: (t) => `${t}  packages:\n    source: offline\n`,
    issues: ['30:3 spec.packages: source is offline but offline.path is missing; expected offline: { path: /srv/hvcluster-debs }'],
  },
  {
    name: 'two nodes reached at the same address and port',
    breakIt: (t, [p1, p2]) => edit(t, `port: ${p2},`, `port: ${p1},`),
    issues: ["20:23 spec.nodes[1].ssh.address: 127.0.0.1 port ${P1} is also how spec.nodes[0] is reached; expected each node's own SSH address"],
  },
];

describe('hvcluster plan on a broken answer file touches no server', () => {
  let dir: string;
  let home: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hvcluster-plan-broken-'));
    home = join(dir, 'home');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `plan -f` on the file `make` writes for two fresh listeners; returns the result and the connections accepted. */
  async function planAgainstListeners(name: string, make: (ports: [number, number]) => string, extraArgs: string[] = [], command = 'plan') {
    const listeners = [await countingListener(), await countingListener()] as const;
    try {
      const ports: [number, number] = [listeners[0].port, listeners[1].port];
      const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, make(ports));
      const result = await runCli([command, '-f', file, ...extraArgs], home);
      await new Promise((done) => setTimeout(done, 100)); // let any connection still in flight be accepted
      return { result, file, ports, accepted: listeners[0].accepted + listeners[1].accepted };
    } finally {
      await Promise.all(listeners.map((l) => l.close()));
    }
  }

  for (const c of cases) {
    it(c.name, async () => {
      const { result, file, ports, accepted } = await planAgainstListeners(c.name, (ports) => c.breakIt(siteYaml(...ports), ports));
      const expected = c.issues.map((issue) => `  ${file}:${issue.replaceAll('${P1}', String(ports[0]))}`);
      expect(result.stdout).toBe('');
      expect(result.stderr.split('\n')).toEqual([
        `error: ${file} is not a valid answer file (${c.issues.length} error${c.issues.length === 1 ? '' : 's'}):`,
        ...expected,
        `hint: Correct ${file} at the positions listed, then run again.`,
        '',
      ]);
      expect(result.code).toBe(3);
      expect(accepted).toBe(0);
      if (c.secret) expect(result.stdout + result.stderr).not.toContain(c.secret);
    });
  }

  it('the same file, valid, does reach the listeners (the counter counts)', async () => {
    const { result, ports, accepted } = await planAgainstListeners('valid', (p) => siteYaml(...p), ['--connect-timeout', '3']);
    expect(accepted).toBeGreaterThan(0);
    expect(result.code).not.toBe(3);
    expect(result.code).not.toBe(0);
    // Each listener drops what it accepts: the servers "could not be read", a connection failure, not an answer-file one.
    expect(result.stderr).toContain(`127.0.0.1:${ports[0]}`);
    expect(result.stderr).toContain('cannot plan: 2 of 2 servers could not be read');
    expect(result.stdout).toBe('');
  });

  it('verify refuses output files it could not write before contacting any server', async () => {
    const missingDir = join(dir, 'no-such-dir', 'v.xml');
    const junit = await planAgainstListeners('junit-missing-dir', (p) => siteYaml(...p), ['--junit', missingDir], 'verify');
    expect(junit.result.code).toBe(2);
    expect(junit.result.stderr).toContain(`--junit ${missingDir}: the directory ${join(dir, 'no-such-dir')} does not exist`);
    expect(junit.result.stderr).not.toContain('internal error');
    expect(junit.accepted).toBe(0);
    const report = await planAgainstListeners('report-is-dir', (p) => siteYaml(...p), ['--report', dir], 'verify');
    expect(report.result.code).toBe(2);
    expect(report.result.stderr).toContain(`--report ${dir}: is a directory`);
    expect(report.accepted).toBe(0);
  });

  it('verify writes its JUnit file even when it cannot run: one testcase in error saying why', async () => {
    const xml = join(dir, 'could-not-run.xml');
    const { result, accepted } = await planAgainstListeners('junit-broken', (ports) => cases[0]!.breakIt(siteYaml(...ports), ports), ['--junit', xml], 'verify');
    expect(result.code).toBe(2);
    expect(accepted).toBe(0);
    const text = readFileSync(xml, 'utf8');
    expect(text).toMatch(/<testsuites name="hvcluster verify" tests="1" failures="0" errors="1"/);
    expect(text).toMatch(/<error message="[^"]*is not a valid answer file/);
  });

  it('init -o into a directory that does not exist says so (no internal error)', async () => {
    const target = join(dir, 'missing', 'site.yaml');
    const result = await runCli(['init', '--example', '-o', target], home);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`-o ${target}: the directory ${join(dir, 'missing')} does not exist`);
  });
});
