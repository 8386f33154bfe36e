// The lab's private network: one namespace per lab with a management and a replication bridge,
// a tap per VM NIC, and the host's address on the management bridge; a third bridge carries the
// simulated BMCs' addresses (ipmi_sim runs on the host side, so no VM has a NIC there). Nothing
// leaves the namespace: no veth to the host, no NAT, no forwarding, no IPv6 (so no multicast
// neighbour discovery).
import { BMC_BRIDGE, BMC_PREFIX, HOST_OCTET, MGMT_BRIDGE, REPL_BRIDGE, bmcAddr, bmcHostAddr, tapName } from './config.js';
import { run } from './util.js';

export async function netnsExists(ns: string): Promise<boolean> {
  const r = await run(['ip', 'netns', 'list'], { allowFail: true });
  return r.stdout.split('\n').some((l) => l.split(/\s+/)[0] === ns);
}

export async function listLabNetns(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith('hvlab-'));
}

export async function createNetwork(ns: string, index: number, nodes: number, opts: { witness?: boolean } = {}): Promise<void> {
  const ipn = (...a: string[]) => run(['ip', '-n', ns, ...a]);
  await run(['ip', 'netns', 'add', ns]);
  await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w',
    'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], { allowFail: true });
  await ipn('link', 'set', 'lo', 'up');
  for (const br of [MGMT_BRIDGE, REPL_BRIDGE]) {
    await ipn('link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
  }
  await ipn('addr', 'add', `198.18.${index}.${HOST_OCTET}/24`, 'dev', MGMT_BRIDGE);
  await ipn('addr', 'add', `198.19.${index}.${HOST_OCTET}/24`, 'dev', REPL_BRIDGE);
  // The BMC network: the host's address plus one address per node's BMC, all local to the
  // namespace (the nodes' packets to them are delivered locally, nothing is forwarded).
  await ipn('link', 'add', BMC_BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
  await ipn('addr', 'add', `${bmcHostAddr(index)}/${BMC_PREFIX}`, 'dev', BMC_BRIDGE);
  for (let i = 1; i <= nodes; i++) await ipn('addr', 'add', `${bmcAddr(index, i)}/${BMC_PREFIX}`, 'dev', BMC_BRIDGE);
  const taps: Array<[string, string]> = [];
  for (let i = 1; i <= nodes; i++) taps.push([tapName(i, 'm'), MGMT_BRIDGE], [tapName(i, 'r'), REPL_BRIDGE]);
  if (opts.witness) taps.push([tapName('w', 'm'), MGMT_BRIDGE]);
  for (const [tap, br] of taps) {
    await ipn('tuntap', 'add', tap, 'mode', 'tap');
    await ipn('link', 'set', tap, 'master', br);
    await ipn('link', 'set', tap, 'up');
  }
  for (const br of [MGMT_BRIDGE, REPL_BRIDGE, BMC_BRIDGE]) await ipn('link', 'set', br, 'up');
}

/** Deleting the namespace removes its bridges and taps with it. Idempotent. */
export async function deleteNetwork(ns: string): Promise<void> {
  if (!(await netnsExists(ns))) return;
  await run(['ip', 'netns', 'del', ns], { allowFail: true });
}

/** Link names in the namespace (empty if it does not exist). */
export async function netnsLinks(ns: string): Promise<string[]> {
  const r = await run(['ip', '-n', ns, '-o', 'link', 'show'], { allowFail: true });
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean);
}
