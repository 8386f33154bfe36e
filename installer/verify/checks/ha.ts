/**
 * HA: the cluster stack (Corosync, the witness's qdevice, Pacemaker, fencing) and DRBD's part in it.
 * Run only when the answer file enables ha; nothing is reported otherwise. Reads the v-ha probes
 * (probes.ts haProbes); the CIB comes without passwords.
 */
import type { Answers } from '../../answers/schema.js';
import { FENCE_PEER_HANDLER } from '../../plan/index.js';
import { fencingLevels, stonithTimeoutS, watchdogPlan } from '../../plan/ha.js';
import { addressOf } from '../../net/ipv4.js';
import { CLUSTER, type CheckResult, type ReachableNode, type VerifyInput } from '../types.js';
import { nodeAnswers, probe, reachable, result, why } from './common.js';
import {
  drbdFencing,
  parseCfgtool,
  parseCib,
  parseCmap,
  parseCrmMon,
  parseQdeviceTool,
  parseQuorumtool,
  parseStonithList,
  type Cib,
  type CrmStatus,
  type DrbdFencing,
} from '../parse-ha.js';

export const haEnabled = (answers: Answers): boolean => answers.spec.ha?.enabled === true;

/** The base token of each timing profile (ms) and its stonith-timeout (s); Corosync adds token_coefficient (650 ms) per node above two. */
export const HA_TIMING_PROFILES = {
  production: { tokenMs: 3000, stonithTimeoutS: 60 },
  emulated: { tokenMs: 10000, stonithTimeoutS: 180 },
} as const;
export const TOKEN_COEFFICIENT_MS = 650;

export function expectedToken(answers: Answers): number {
  const profile = HA_TIMING_PROFILES[answers.spec.ha?.timing ?? 'production'];
  return profile.tokenMs + Math.max(0, answers.spec.nodes.length - 2) * TOKEN_COEFFICIENT_MS;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A probe's output through its parser: the command's failure or the parse error as the reason. */
function read<T>(node: ReachableNode, label: string, what: string, parse: (s: string) => T, okCodes: number[] = [0]): Parsed<T> {
  const cmd = probe(node, label);
  if (!cmd || cmd.exitCode === null || !okCodes.includes(cmd.exitCode)) {
    // The cluster tools explain over several lines (drbdadm: the file and line, then the cause).
    const lines = (cmd?.stderr ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
    const reason = cmd && cmd.exitCode !== null && lines.length > 1 ? `${what}: exit ${cmd.exitCode}: ${lines.slice(0, 3).join(' ')}` : why(cmd, what);
    return { ok: false, reason };
  }
  try {
    return { ok: true, value: parse(cmd.stdout) };
  } catch (error) {
    return { ok: false, reason: `${what}: could not read its output (${(error as Error).message})` };
  }
}

const crmMon = (n: ReachableNode) => read(n, 'ha-mon', 'crm_mon', parseCrmMon);
const cib = (n: ReachableNode) => read(n, 'ha-cib', 'cibadmin --query', parseCib);

/** The first reachable node's readable value, for cluster-wide state (the CIB is the same everywhere). */
function first<T>(nodes: ReachableNode[], get: (n: ReachableNode) => Parsed<T>): { node: ReachableNode; value: T } | { reasons: string[] } {
  const reasons: string[] = [];
  for (const node of nodes) {
    const r = get(node);
    if (r.ok) return { node, value: r.value };
    reasons.push(`${node.name}: ${r.reason}`);
  }
  return { reasons };
}

const START_STACK = 'check `systemctl status corosync pacemaker` and `journalctl -u corosync -u pacemaker -b`; `hvcluster apply` installs and starts the cluster stack';

export function haChecks(input: VerifyInput): CheckResult[] {
  if (!haEnabled(input.answers)) return [];
  const nodes = reachable(input);
  // No server read: SSH_REACHABLE says so; nothing of the cluster can be told.
  if (nodes.length === 0) return [];
  return [
    ...serviceChecks(input, nodes),
    ...memberChecks(input, nodes),
    ...quorumChecks(input, nodes),
    ...qdeviceChecks(input, nodes),
    ...twoNodeChecks(input, nodes),
    ...linkChecks(input, nodes),
    ...clusterChecks(input, nodes),
    ...drbdFencingChecks(nodes),
  ];
}

// ---------------------------------------------------------------------------------------------

function serviceChecks(input: VerifyInput, nodes: ReachableNode[]): CheckResult[] {
  const twoNodes = input.answers.spec.nodes.length === 2;
  return nodes.map((node) => {
    const cmd = probe(node, 'ha-units');
    if (!cmd || cmd.exitCode !== 0) return result('HA_SERVICES', 'error', node.name, `could not read the units: ${why(cmd, 'systemctl')}`, { fix: 'check that systemd runs on the node' });
    const units = new Map(
      cmd.stdout
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((w) => w.length >= 1 && w[0] !== '')
        .map(([unit = '', active = '', enabled = '']) => [unit, { active, enabled }] as const),
    );
    const want = ['corosync', ...(twoNodes ? ['corosync-qdevice'] : []), 'pacemaker', ...(watchdogPlan(input.answers) ? ['sbd'] : [])];
    const problems: string[] = [];
    for (const u of want) {
      const s = units.get(u);
      if (!s || (s.active !== 'active' && s.enabled === 'unknown')) problems.push(`${u} is not installed (no unit)`);
      else if (s.active !== 'active') problems.push(`${u} is ${s.active}`);
      else if (s.enabled !== 'enabled') problems.push(`${u} is not enabled (${s.enabled || 'unknown'}): it would not start after a reboot`);
    }
    const drbd = units.get('drbd');
    if (drbd?.enabled === 'enabled') problems.push('drbd.service is enabled: at boot it would bring DRBD up behind Pacemaker\'s back');
    const data = Object.fromEntries([...units].map(([u, s]) => [u, `${s.active}/${s.enabled}`]));
    if (problems.length > 0) {
      return result('HA_SERVICES', 'error', node.name, problems.join('; '), {
        data,
        fix: `${drbd?.enabled === 'enabled' ? '`systemctl disable drbd.service` (Pacemaker starts DRBD); ' : ''}${START_STACK}`,
      });
    }
    return result('HA_SERVICES', 'pass', node.name, `${want.join(', ')} active and enabled; drbd.service left to Pacemaker`, { data });
  });
}

function memberChecks(input: VerifyInput, nodes: ReachableNode[]): CheckResult[] {
  return nodes.map((node) => {
    const mon = crmMon(node);
    if (!mon.ok) return result('HA_MEMBERS', 'error', node.name, `Pacemaker does not answer: ${mon.reason}`, { fix: START_STACK });
    const status = mon.value;
    const errors: string[] = [];
    const warnings: string[] = [];
    for (const want of input.answers.spec.nodes) {
      const n = status.nodes.find((x) => x.name === want.name);
      if (!n) errors.push(`${want.name} is not a member`);
      else if (n.unclean) errors.push(`${want.name} is UNCLEAN (it must be fenced)`);
      else if (!n.online) errors.push(`${want.name} is offline`);
      else if (n.pending) errors.push(`${want.name} is pending`);
      else if (n.standby) warnings.push(`${want.name} is in standby`);
      else if (n.maintenance) warnings.push(`${want.name} is in maintenance`);
    }
    if (status.dc === null) errors.push('there is no DC (designated controller)');
    const data = { dc: status.dc, nodes: status.nodes.map((n) => ({ name: n.name, online: n.online, unclean: n.unclean, standby: n.standby })) };
    if (errors.length > 0 || warnings.length > 0) {
      return result('HA_MEMBERS', errors.length > 0 ? 'error' : 'warning', node.name, [...errors, ...warnings].join('; '), {
        data,
        fix: errors.length > 0 ? 'start the cluster stack on the missing node (`systemctl start corosync pacemaker`); an UNCLEAN node is fenced by its peers: check `stonith_admin --history \'*\'`' : 'bring it back with `crm_standby --node NODE --delete` (after maintenance: `crm_attribute --node NODE --name maintenance --delete`)',
      });
    }
    return result('HA_MEMBERS', 'pass', node.name, `${status.nodes.map((n) => n.name).join(', ')} online; DC ${status.dc}`, { data });
  });
}

/** Votes a healthy cluster has: one per node, one for the qdevice with two nodes. */
const expectedVotes = (answers: Answers) => answers.spec.nodes.length + (answers.spec.nodes.length === 2 ? 1 : 0);

function quorumChecks(input: VerifyInput, nodes: ReachableNode[]): CheckResult[] {
  const want = expectedVotes(input.answers);
  return nodes.map((node) => {
    // corosync-quorumtool exits 2 when the partition is not quorate: still a readable answer.
    const q = read(node, 'ha-quorum', 'corosync-quorumtool', parseQuorumtool, [0, 2]);
    if (!q.ok) return result('HA_QUORUM', 'error', node.name, `Corosync does not answer: ${q.reason}`, { fix: START_STACK });
    const v = q.value;
    const data = { quorate: v.quorate, expectedVotes: v.expectedVotes, totalVotes: v.totalVotes, quorum: v.quorum, flags: v.flags };
    const votes = `${v.totalVotes ?? '?'} of ${v.expectedVotes ?? '?'} votes (quorum ${v.quorum ?? '?'})`;
    if (!v.quorate) {
      return result('HA_QUORUM', 'error', node.name, `not quorate: ${votes}; Pacemaker stops every resource here (no-quorum-policy=stop)`, {
        data,
        fix: 'bring the other node (or the witness) back: check the Corosync links (`corosync-cfgtool -s`) and the qdevice (`corosync-qdevice-tool -s`)',
      });
    }
    if (v.expectedVotes !== want) {
      return result('HA_QUORUM', 'error', node.name, `quorate, but ${v.expectedVotes ?? 'no'} expected votes where ${want} are planned (${input.answers.spec.nodes.length} nodes${want > input.answers.spec.nodes.length ? ' + the witness' : ''})`, {
        data,
        fix: 'the running corosync.conf differs from the plan (a missing quorum device, an extra node): run `hvcluster apply`, then `corosync-cfgtool -R`',
      });
    }
    if ((v.totalVotes ?? 0) < want) {
      return result('HA_QUORUM', 'warning', node.name, `quorate with ${votes}: one more failure loses quorum`, {
        data,
        fix: 'find the missing vote: a node down (`crm_mon -1`) or the witness disconnected (`corosync-qdevice-tool -s`)',
      });
    }
    return result('HA_QUORUM', 'pass', node.name, `quorate, ${votes}`, { data });
  });
}

function witnessOf(answers: Answers): string | null {
  const w = answers.spec.ha?.witness;
  return w ? `${w.address}:${w.qnetdPort}` : null;
}

function qdeviceChecks(input: VerifyInput, nodes: ReachableNode[]): CheckResult[] {
  if (input.answers.spec.nodes.length !== 2) return [];
  const witness = witnessOf(input.answers);
  return nodes.map((node) => {
    const q = read(node, 'ha-qdevice', 'corosync-qdevice-tool', parseQdeviceTool);
    const fix = `check corosync-qnetd on the witness${witness ? ` (${witness}: \`systemctl status corosync-qnetd\`)` : ''}, that the node reaches it on TCP, and \`journalctl -u corosync-qdevice -b\` on ${node.name}`;
    if (!q.ok) return result('HA_QDEVICE', 'error', node.name, `the quorum device does not answer: ${q.reason}`, { fix: `start it (\`systemctl start corosync-qdevice\`); ${fix}` });
    const quorum = read(node, 'ha-quorum', 'corosync-quorumtool', parseQuorumtool, [0, 2]);
    const v = q.value;
    const data = { state: v.state, host: v.host, algorithm: v.algorithm };
    if (v.state !== 'Connected') return result('HA_QDEVICE', 'error', node.name, `the qdevice is not connected to the witness ${v.host ?? witness ?? ''}: ${v.state ?? 'no state'}`, { data, fix });
    if (witness && v.host !== witness) {
      return result('HA_QDEVICE', 'error', node.name, `the qdevice is connected to ${v.host}, not the answer file's witness ${witness}`, { data, fix: 'run `hvcluster apply` to write the planned corosync.conf' });
    }
    if (quorum.ok && (quorum.value.qdevice === null || quorum.value.qdevice.votes === 0 || !quorum.value.flags.includes('Qdevice'))) {
      return result('HA_QDEVICE', 'error', node.name, 'the qdevice is connected but corosync counts no vote from it', { data, fix });
    }
    const cmap = read(node, 'ha-cmap', 'corosync-cmapctl', parseCmap);
    const tls = cmap.ok ? (cmap.value.get('quorum.device.net.tls') ?? 'on') : null;
    const wantTls = input.answers.spec.ha?.tls ?? 'on';
    if (tls !== null && tls !== wantTls) {
      return result('HA_QDEVICE', 'error', node.name, `the qdevice runs with tls ${tls}, the answer file says ${wantTls}`, {
        data: { ...data, tls },
        fix: wantTls === 'on' ? 'run `hvcluster apply` to set up the qdevice certificates and tls on (tls off is for the lab only)' : 'run `hvcluster apply` to write the planned corosync.conf',
      });
    }
    const member = quorum.ok ? quorum.value.members.find((m) => m.local) : undefined;
    if (member && !member.qdevice.split(',').includes('V')) {
      return result('HA_QDEVICE', 'error', node.name, `the witness does not vote for this node (qdevice flags ${member.qdevice || 'none'})`, { data: { ...data, flags: member.qdevice }, fix });
    }
    return result('HA_QDEVICE', 'pass', node.name, `connected to ${v.host}, ${v.algorithm}${member ? `, flags ${member.qdevice}` : ''}${input.answers.spec.ha?.tls === 'off' ? '; TLS off (lab only)' : ''}`, { data });
  });
}

function twoNodeChecks(input: VerifyInput, nodes: ReachableNode[]): CheckResult[] {
  return nodes.map((node) => {
    const c = read(node, 'ha-cmap', 'corosync-cmapctl', parseCmap);
    if (!c.ok) return result('HA_NO_TWO_NODE', 'error', node.name, `could not read Corosync's keys: ${c.reason}`, { fix: START_STACK });
    const twoNode = c.value.get('runtime.votequorum.two_node') ?? c.value.get('quorum.two_node') ?? '0';
    const model = c.value.get('quorum.device.model') ?? null;
    const data = { twoNode: twoNode === '1', qdeviceModel: model };
    if (twoNode === '1') {
      return result('HA_NO_TWO_NODE', 'error', node.name, `two_node is on${model ? ` beside a quorum device (${model})` : ' without a quorum device: after a split both nodes stay quorate and race to fence each other'}`, {
        data,
        fix: 'remove `two_node: 1` from the quorum section of /etc/corosync/corosync.conf (`hvcluster apply` writes the planned one) and restart corosync node by node',
      });
    }
    if (input.answers.spec.nodes.length === 2 && model === null) {
      return result('HA_NO_TWO_NODE', 'error', node.name, 'two nodes without a quorum device: losing either node loses quorum', { data, fix: 'configure the witness (ha.witness) and run `hvcluster apply`' });
    }
    return result('HA_NO_TWO_NODE', 'pass', node.name, model ? `two_node off, quorum device ${model}` : 'two_node off', { data });
  });
}

function linkChecks(input: VerifyInput, nodes: ReachableNode[]): CheckResult[] {
  const ids = new Map(input.answers.spec.nodes.map((n, i) => [i + 1, n.name]));
  return nodes.map((node) => {
    const l = read(node, 'ha-links', 'corosync-cfgtool -s', parseCfgtool, [0, 1]);
    if (!l.ok) return result('HA_LINKS', 'error', node.name, `could not read the links: ${l.reason}`, { fix: START_STACK });
    const self = nodeAnswers(input, node.name);
    const planned = [addressOf(self.replication.address), addressOf(self.management.address)];
    const links = l.value.links;
    const problems: string[] = [];
    let severity: 'error' | 'warning' = 'warning';
    planned.forEach((addr, id) => {
      const link = links.find((x) => x.id === id);
      if (!link) problems.push(`link ${id} (${addr}) is not configured`);
      else if (link.address !== addr) problems.push(`link ${id} uses ${link.address}, planned ${addr}`);
    });
    if (links.length < 2) severity = 'error';
    for (const [id, peer] of ids) {
      if (peer === node.name) continue;
      const up = links.filter((x) => x.peers.some((p) => p.nodeId === id && p.status === 'connected'));
      const down = links.filter((x) => !up.includes(x));
      if (up.length === 0) {
        severity = 'error';
        problems.push(`${peer} is reachable on no link`);
      } else if (down.length > 0) {
        problems.push(`${peer} is not connected on link ${down.map((x) => `${x.id} (${x.address})${x.peers.find((p) => p.nodeId === id) ? `: ${x.peers.find((p) => p.nodeId === id)!.status}` : ''}`).join(', ')}`);
      }
    }
    const data = { links: links.map((x) => ({ id: x.id, address: x.address, peers: Object.fromEntries(x.peers.map((p) => [ids.get(p.nodeId) ?? String(p.nodeId), p.status])) })) };
    if (problems.length > 0) {
      return result('HA_LINKS', severity, node.name, problems.join('; '), {
        data,
        fix: 'check the NIC and cable of the link that is down (`ip link`, `corosync-cfgtool -n`); with one link left a second failure partitions the cluster',
      });
    }
    return result('HA_LINKS', 'pass', node.name, links.map((x) => `link ${x.id} ${x.address}: all connected`).join('; '), { data });
  });
}

// ---------------------------------------------------------------------------------------------
// The CIB and crm_mon: read from the first node that answers.

function clusterChecks(input: VerifyInput, nodes: ReachableNode[]): CheckResult[] {
  const servers = nodes.map((n) => n.name);
  const c = first(nodes, cib);
  const m = first(nodes, crmMon);
  const out: CheckResult[] = [];
  if (!('value' in c)) {
    const found = `could not read the CIB: ${c.reasons.join('; ') || 'no node reachable'}`;
    out.push(result('HA_STONITH_ENABLED', 'error', CLUSTER, found, { servers, fix: START_STACK }));
  } else out.push(stonithEnabled(c.value, servers));
  if ('value' in c && 'value' in m) {
    out.push(...stonithDevices(input, nodes, c.value, m.value));
    out.push(...fenceConstraints(nodes, c.value, servers));
    out.push(...primaryAgreement(nodes, c.value, m.value));
  } else {
    for (const target of input.answers.spec.nodes) out.push(result('HA_STONITH_DEVICES', 'error', target.name, 'the CIB or crm_mon could not be read on any node', { fix: START_STACK }));
    out.push(result('HA_FENCE_CONSTRAINTS', 'skipped', CLUSTER, 'the CIB or crm_mon could not be read', { servers }));
    out.push(result('HA_PRIMARY_AGREEMENT', 'skipped', CLUSTER, 'the CIB or crm_mon could not be read', { servers }));
  }
  out.push(watchdogLevel(input, 'value' in c ? c.value : null, servers));
  if ('value' in m) out.push(failedActions(m.value, servers));
  else out.push(result('HA_FAILED_ACTIONS', 'skipped', CLUSTER, 'crm_mon could not be read', { servers }));
  out.push(timing(input, nodes, 'value' in c ? c.value : null, servers));
  return out;
}

/**
 * The watchdog fencing level (spec.ha.watchdog): Pacemaker knows the watchdog is there
 * (have-watchdog, set by the cluster when sbd runs), waits the planned stonith-watchdog-timeout,
 * and each node's fencing tries its BMC first, then the watchdog. Without spec.ha.watchdog, a
 * stonith-watchdog-timeout left set is reported (apply removes it).
 */
function watchdogLevel(input: VerifyInput, cib: Cib | null, servers: string[]): CheckResult {
  const planned = watchdogPlan(input.answers);
  if (!cib) return result('HA_WATCHDOG', planned ? 'error' : 'skipped', CLUSTER, 'could not read the CIB', { servers, fix: START_STACK });
  const swt = cib.properties['stonith-watchdog-timeout'] ?? null;
  const swtS = swt === null ? 0 : parseDuration(swt);
  const levels = cib.fencingLevels.map((l) => `${l.target}:${l.index}=${l.devices}`).sort();
  const data = { haveWatchdog: cib.properties['have-watchdog'] ?? null, stonithWatchdogTimeout: swt, levels };
  if (!planned) {
    if (swtS !== null && swtS !== 0) {
      return result('HA_WATCHDOG', 'warning', CLUSTER, `stonith-watchdog-timeout is ${swt} without spec.ha.watchdog: Pacemaker may treat a lost node as fenced by its watchdog`, {
        servers,
        data,
        fix: 'run `hvcluster apply` (it removes the watchdog level), or add spec.ha.watchdog',
      });
    }
    return result('HA_WATCHDOG', 'skipped', CLUSTER, 'no watchdog level (spec.ha.watchdog not set): a node whose BMC is dead stays unfenced until an operator confirms it off', { servers, data });
  }
  const problems: string[] = [];
  if (!isOn(cib.properties['have-watchdog'])) problems.push(`have-watchdog is ${cib.properties['have-watchdog'] ?? 'unset'} (Pacemaker does not see sbd running)`);
  if (swtS !== planned.stonithWatchdogTimeoutS) problems.push(`stonith-watchdog-timeout is ${swt ?? 'unset'}, planned ${planned.stonithWatchdogTimeoutS}s`);
  for (const level of fencingLevels(input.answers.spec.nodes.map((n) => n.name))) {
    if (!cib.fencingLevels.some((l) => l.target === level.target && l.index === level.index && l.devices === level.devices)) problems.push(`no fencing level ${level.index} = ${level.devices} for ${level.target}`);
  }
  if (problems.length > 0) return result('HA_WATCHDOG', 'error', CLUSTER, problems.join('; '), { servers, data, fix: 'run `hvcluster apply` (its sbd and cluster-config steps set the watchdog level)' });
  return result('HA_WATCHDOG', 'pass', CLUSTER, `watchdog level in place: sbd seen by Pacemaker, stonith-watchdog-timeout ${swt}, each node fenced through its BMC, then its watchdog`, { servers, data });
}

function stonithEnabled(cib: Cib, servers: string[]): CheckResult {
  const enabled = cib.properties['stonith-enabled'] ?? 'true';
  const policy = cib.properties['no-quorum-policy'] ?? 'stop';
  const data = { stonithEnabled: enabled, noQuorumPolicy: policy };
  const on = /^(true|yes|on|1|y)$/i.test(enabled);
  if (!on) {
    return result('HA_STONITH_ENABLED', 'error', CLUSTER, `stonith-enabled is ${enabled}: a node that stops answering is assumed dead, and its guests may start twice`, {
      servers,
      data,
      fix: '`crm configure property stonith-enabled=true` (after checking the fence devices: `stonith_admin --list-registered`)',
    });
  }
  if (policy !== 'stop') {
    return result('HA_STONITH_ENABLED', policy === 'ignore' ? 'error' : 'warning', CLUSTER, `stonith-enabled=true but no-quorum-policy=${policy} (planned: stop)`, {
      servers,
      data,
      fix: '`crm configure property no-quorum-policy=stop`',
    });
  }
  return result('HA_STONITH_ENABLED', 'pass', CLUSTER, `stonith-enabled=${enabled}, no-quorum-policy=${policy}`, { servers, data });
}

const isOn = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

function stonithDevices(input: VerifyInput, nodes: ReachableNode[], cib: Cib, mon: CrmStatus): CheckResult[] {
  const registered = new Map(nodes.map((n) => [n.name, read(n, 'ha-stonith', 'stonith_admin --list-registered', parseStonithList)] as const));
  return input.answers.spec.nodes.map((target) => {
    const test = `\`fence_ipmilan -a ${target.bmc?.address ?? 'BMC'} -u ${target.bmc?.port ?? 623} -l ${target.bmc?.user ?? 'USER'} -p PASSWORD${target.bmc?.lanplus === false ? '' : ' -P'} -C ${target.bmc?.cipher ?? 17} -o status\` from another node`;
    const fix = `run \`hvcluster apply\` to (re)create fence-${target.name}; test the BMC with ${test}`;
    const device = cib.primitives.find((p) => p.class === 'stonith' && (p.params.pcmk_host_list ?? '').split(/[\s,]+/).includes(target.name)) ?? cib.primitives.find((p) => p.class === 'stonith' && p.id === `fence-${target.name}`);
    const servers = [target.name];
    if (!device) return result('HA_STONITH_DEVICES', 'error', target.name, `no fence device for ${target.name}: it cannot be fenced, so its guests are never restarted elsewhere`, { servers, fix });
    const problems: string[] = [];
    const bmc = target.bmc;
    if (device.type !== 'fence_ipmilan') problems.push(`agent ${device.type}, planned fence_ipmilan`);
    if (bmc) {
      const want: [string, string, string | undefined][] = [
        ['ip', bmc.address, device.params.ip ?? device.params.ipaddr],
        ['ipport', String(bmc.port), device.params.ipport ?? '623'],
        ['username', bmc.user, device.params.username ?? device.params.login],
        ['cipher', String(bmc.cipher), device.params.cipher],
      ];
      for (const [k, planned, actual] of want) if (actual !== planned) problems.push(`${k} is ${actual ?? 'not set'}, the answer file says ${planned}`);
      if (isOn(device.params.lanplus) !== bmc.lanplus) problems.push(`lanplus is ${device.params.lanplus ?? 'not set'}, the answer file says ${bmc.lanplus}`);
    } else problems.push(`${target.name} has no bmc in the answer file`);
    if (!device.hasPassword) problems.push('no password is set');
    const avoids = cib.locations.some((l) => l.rsc === device.id && l.node === target.name && /^-(INFINITY|inf)/i.test(l.score ?? ''));
    if (!avoids) problems.push(`no -INFINITY location keeps it off ${target.name} (a node must not be the one to fence itself)`);
    const running = mon.resources.find((r) => r.id === device.id);
    if (!running || !running.active || running.role !== 'Started') problems.push(`it is ${running?.role || 'not running'}${running?.failed ? ' after a failure' : ''}`);
    else {
      if (running.failed) problems.push('it failed (check its failed actions)');
      if (running.nodes.includes(target.name)) problems.push(`it runs on ${target.name} itself`);
    }
    const notRegistered = [...registered].filter(([, r]) => r.ok && !r.value.includes(device.id)).map(([n]) => n);
    if (running?.active && notRegistered.length === nodes.length) problems.push('no node has it registered (stonith_admin --list-registered)');
    const data = { device: device.id, agent: device.type, runningOn: running?.nodes ?? [], role: running?.role ?? null, ip: device.params.ip ?? null };
    const notAnswering = running !== undefined && (running.failed || !running.active);
    if (problems.length > 0) {
      return result('HA_STONITH_DEVICES', 'error', target.name, `${device.id}: ${problems.join('; ')}`, {
        servers,
        data,
        fix: notAnswering
          ? `the device does not answer: test the BMC with ${test} (address, user, the password of bmc.passwordFrom, cipher), fix it (\`hvcluster apply\` writes the answer file's values), then \`crm_resource --cleanup --resource ${device.id}\``
          : fix,
      });
    }
    return result('HA_STONITH_DEVICES', 'pass', target.name, `${device.id} (fence_ipmilan ${device.params.ip}:${device.params.ipport ?? 623}, cipher ${device.params.cipher}) Started on ${running!.nodes.join(', ')}`, { servers, data });
  });
}

function failedActions(mon: CrmStatus, servers: string[]): CheckResult {
  if (mon.failures.length === 0) return result('HA_FAILED_ACTIONS', 'pass', CLUSTER, 'no failed actions', { servers });
  const rscOf = (opKey: string) => /^(.*)_[a-z_]+_\d+$/.exec(opKey)?.[1] ?? opKey;
  const stillFailed = mon.failures.filter((f) => {
    const r = mon.resources.find((x) => x.id === rscOf(f.opKey) || x.id === rscOf(f.opKey).replace(/:\d+$/, ''));
    return !r || r.failed || !r.active || r.blocked;
  });
  const list = mon.failures.map((f) => `${f.opKey} on ${f.node}: ${f.exitStatus}${f.exitReason ? ` (${f.exitReason})` : ''}${f.lastRcChange ? ` at ${f.lastRcChange}` : ''}`);
  return result('HA_FAILED_ACTIONS', stillFailed.length > 0 ? 'error' : 'warning', CLUSTER, `${mon.failures.length} failed action(s)${stillFailed.length > 0 ? `, ${stillFailed.length} on a resource still failed or stopped` : ', the resources run again'}: ${list.join('; ')}`, {
    servers,
    data: { failures: mon.failures },
    fix: 'find the cause in `journalctl -u pacemaker -b` on that node, fix it, then `crm_resource --cleanup --resource RESOURCE`',
  });
}

/** Each node's DRBD state of a resource from the facts (events2). */
function drbdStates(nodes: ReachableNode[], resource: string) {
  return nodes.flatMap((n) => {
    const r = n.facts.drbd.ok ? n.facts.drbd.value.resources.find((x) => x.name === resource) : undefined;
    return r ? [{ node: n.name, resource: r }] : [];
  });
}

function fenceConstraints(nodes: ReachableNode[], cib: Cib, servers: string[]): CheckResult[] {
  const stale = cib.locations.filter((l) => l.id.startsWith('drbd-fence-by-handler-'));
  if (stale.length === 0) return [result('HA_FENCE_CONSTRAINTS', 'pass', CLUSTER, 'no drbd-fence-by-handler constraint', { servers })];
  const resourceOf = (l: (typeof stale)[number]) => {
    const prim = cib.primitives.find((p) => p.type === 'drbd' && l.id.startsWith(`drbd-fence-by-handler-${p.params.drbd_resource}-`));
    return prim?.params.drbd_resource ?? /^drbd-fence-by-handler-(.+?)-[^-]+$/.exec(l.id)?.[1] ?? null;
  };
  return stale.map((l) => {
    const res = resourceOf(l);
    const states = res ? drbdStates(nodes, res) : [];
    const healthy =
      states.length >= 2 &&
      states.every((s) => s.resource.volumes.every((v) => v.diskState === 'UpToDate') && s.resource.connections.length > 0 && s.resource.connections.every((c) => c.connectionState === 'Connected' && c.peerDiskStates.every((d) => d === 'UpToDate')));
    const data = { constraint: l.id, resource: res };
    if (healthy) {
      return result('HA_FENCE_CONSTRAINTS', 'error', CLUSTER, `${l.id} is stale: ${res} is Connected and UpToDate on ${states.map((s) => s.node).join(' and ')}, yet the constraint still forbids promoting it elsewhere`, {
        servers,
        subject: res ?? l.rsc,
        data,
        fix: `\`crm configure delete ${l.id}\` (crm-unfence-peer.sh should have removed it after the resync: check the after-resync-target handler)`,
      });
    }
    return result('HA_FENCE_CONSTRAINTS', 'warning', CLUSTER, `${l.id} is in place: ${res ?? l.rsc} is not Connected and UpToDate on both nodes (the fenced peer is out of date until it resyncs)`, {
      servers,
      subject: res ?? l.rsc,
      data,
      fix: 'let the peer reconnect and resync (`drbdadm status`): crm-unfence-peer.sh removes the constraint once it is UpToDate',
    });
  });
}

const PROMOTED = new Set(['Promoted', 'Master']);

function primaryAgreement(nodes: ReachableNode[], cib: Cib, mon: CrmStatus): CheckResult[] {
  const servers = nodes.map((n) => n.name);
  const drbdPrims = cib.primitives.filter((p) => p.class === 'ocf' && p.provider === 'linbit' && p.type === 'drbd' && p.params.drbd_resource);
  if (drbdPrims.length === 0) return [result('HA_PRIMARY_AGREEMENT', 'pass', CLUSTER, 'no DRBD resource is managed by Pacemaker yet', { servers })];
  return drbdPrims.map((p) => {
    const res = p.params.drbd_resource!;
    const instances = mon.resources.filter((r) => r.id === p.id || r.id.startsWith(`${p.id}:`));
    // Only where DRBD's role was read: an unreachable node's Primary cannot be compared.
    const readable = new Set(nodes.map((n) => n.name));
    const promoted = [...new Set(instances.filter((r) => PROMOTED.has(r.role)).flatMap((r) => r.nodes))].filter((n) => readable.has(n)).sort();
    const primaries = drbdStates(nodes, res)
      .filter((s) => s.resource.role === 'Primary')
      .map((s) => s.node)
      .sort();
    const data = { resource: res, primitive: p.id, promotedOn: promoted, primaryOn: primaries };
    const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'no node');
    if (promoted.join() !== primaries.join()) {
      return result('HA_PRIMARY_AGREEMENT', 'error', CLUSTER, `${res}: Pacemaker promoted it on ${list(promoted)}, DRBD is Primary on ${list(primaries)}`, {
        servers,
        subject: res,
        data,
        fix: `never change DRBD roles by hand under Pacemaker: \`crm_resource --cleanup --resource ${p.id}\` lets it re-probe the roles; a Primary outside it must be demoted by stopping what uses it`,
      });
    }
    const partial = instances.some((r) => r.nodes.some((n) => !readable.has(n))) ? ` (compared on ${[...readable].join(', ')} only: the other nodes were not read)` : '';
    return result('HA_PRIMARY_AGREEMENT', 'pass', CLUSTER, `${res}: Primary on ${list(primaries)}, as Pacemaker promoted it${partial}`, { servers, subject: res, data });
  });
}

function timing(input: VerifyInput, nodes: ReachableNode[], cib: Cib | null, servers: string[]): CheckResult {
  const profileName = input.answers.spec.ha?.timing ?? 'production';
  const profile = HA_TIMING_PROFILES[profileName];
  const wantToken = expectedToken(input.answers);
  const tokens = nodes.flatMap((n) => {
    const c = read(n, 'ha-cmap', 'corosync-cmapctl', parseCmap);
    const t = c.ok ? (c.value.get('runtime.config.totem.token') ?? null) : null;
    return t !== null && /^\d+$/.test(t) ? [{ node: n.name, tokenMs: Number(t) }] : [];
  });
  const raw = cib?.properties['stonith-timeout'] ?? null;
  const stonithS = raw === null ? 60 : parseDuration(raw);
  const tokenList = [...new Set(tokens.map((t) => t.tokenMs))];
  const tokenText = tokenList.length === 0 ? 'token unknown' : tokenList.length === 1 ? `token ${tokenList[0]} ms` : `token ${tokens.map((t) => `${t.node} ${t.tokenMs} ms`).join(', ')}`;
  const stonithText = `stonith-timeout ${stonithS === null ? raw : `${stonithS} s`}${raw === null ? ' (default)' : ''}`;
  // A watchdog level adds its wait (plan/ha.ts stonithTimeoutS).
  const wantStonith = stonithTimeoutS(input.answers);
  const data = { timing: profileName, tokenMs: tokenList.length === 1 ? tokenList[0] : tokens, stonithTimeoutSeconds: stonithS, expectedTokenMs: wantToken, expectedStonithTimeoutSeconds: wantStonith };
  const problems: string[] = [];
  if (tokenList.length === 0) problems.push('the effective token could not be read');
  else if (tokenList.some((t) => t !== wantToken)) problems.push(`the ${profileName} profile plans token ${wantToken} ms`);
  if (stonithS !== wantStonith) problems.push(`the ${profileName} profile plans stonith-timeout ${wantStonith} s${wantStonith !== profile.stonithTimeoutS ? ` (${profile.stonithTimeoutS} s and the watchdog level's ${wantStonith - profile.stonithTimeoutS} s)` : ''}`);
  const found = `${profileName} timing: ${tokenText}, ${stonithText}`;
  if (problems.length > 0) return result('HA_TIMING', 'warning', CLUSTER, `${found}; ${problems.join('; ')}`, { servers, data, fix: 'run `hvcluster apply` to apply the timing profile of the answer file (ha.timing)' });
  return result('HA_TIMING', 'pass', CLUSTER, found, { servers, data });
}

/** Pacemaker durations: 60, 60s, 3min, 1h, 500ms; seconds, or null when unreadable. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|msec|s|sec|m|min|h|hr)?\s*$/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' || unit === 'msec' ? 0.001 : unit === 'm' || unit === 'min' ? 60 : unit === 'h' || unit === 'hr' ? 3600 : 1;
  return n * factor;
}

// ---------------------------------------------------------------------------------------------

function drbdFencingChecks(nodes: ReachableNode[]): CheckResult[] {
  const out: CheckResult[] = [];
  for (const node of nodes) {
    const dump = read(node, 'ha-drbd-dump', 'drbdadm dump all', drbdFencing);
    const show = read(node, 'ha-drbd-show', 'drbdsetup show', drbdFencing);
    if (!dump.ok && show.ok && show.value.length > 0) {
      // drbdadm refuses the whole configuration when, say, the replication address is gone from the host
      // (its NIC down): the running resources still tell the policy in effect, not the handlers.
      for (const running of show.value) {
        const ok = running.fencing === 'resource-and-stonith';
        out.push(
          result('HA_DRBD_FENCING', ok ? 'warning' : 'error', node.name, `${running.resource}: fencing ${running.fencing} in the running resource${ok ? '' : ', planned resource-and-stonith'}; the handlers could not be read: ${dump.reason}`, {
            subject: running.resource,
            data: { resource: running.resource, fencing: running.fencing },
            fix: 'run `drbdadm dump all` on the node and fix what it reports (a replication address missing from the host: check its NIC)',
          }),
        );
      }
      continue;
    }
    if (!dump.ok) {
      out.push(result('HA_DRBD_FENCING', 'error', node.name, `could not read the DRBD configuration: ${dump.reason}`, { fix: 'run `drbdadm dump all` on the node and fix what it reports' }));
      continue;
    }
    if (dump.value.length === 0) {
      out.push(result('HA_DRBD_FENCING', 'pass', node.name, 'no DRBD resource configured yet', {}));
      continue;
    }
    const major = node.facts.drbd.ok ? node.facts.drbd.value.major : null;
    for (const conf of dump.value) out.push(fencingResult(node, conf, show.ok ? show.value.find((s) => s.resource === conf.resource) : undefined, major));
  }
  return out;
}

const HANDLERS = {
  8: { fencePeer: FENCE_PEER_HANDLER, unfence: ['afterResyncTarget', '/usr/lib/drbd/crm-unfence-peer.sh'] },
  9: { fencePeer: '/usr/lib/drbd/crm-fence-peer.9.sh', unfence: ['unfencePeer', '/usr/lib/drbd/crm-unfence-peer.9.sh'] },
} as const;

function fencingResult(node: ReachableNode, conf: DrbdFencing, running: DrbdFencing | undefined, major: 8 | 9 | null): CheckResult {
  const want = HANDLERS[major ?? 8];
  const policy = running?.fencing ?? conf.fencing;
  const problems: string[] = [];
  if (policy !== 'resource-and-stonith') problems.push(`fencing is ${policy}${running ? ' in the running resource' : ' in the configuration (the resource is not up)'}, planned resource-and-stonith`);
  else if (running === undefined) problems.push('the resource is not up (its configuration has resource-and-stonith)');
  else if (conf.fencing !== 'resource-and-stonith') problems.push(`the running resource has resource-and-stonith but the configuration says ${conf.fencing} (the next adjust would change it)`);
  if (conf.fencePeer !== want.fencePeer) problems.push(`fence-peer is ${conf.fencePeer ?? 'not set'}, planned ${want.fencePeer}`);
  const [key, path] = want.unfence;
  if (conf[key] !== path) problems.push(`${key === 'afterResyncTarget' ? 'after-resync-target' : 'unfence-peer'} is ${conf[key] ?? 'not set'}, planned ${path}`);
  const data = { resource: conf.resource, fencing: policy, fencePeer: conf.fencePeer, afterResyncTarget: conf.afterResyncTarget, unfencePeer: conf.unfencePeer, drbdMajor: major };
  if (problems.length > 0) {
    // A resource that is merely not up is reported by DRBD_CONFIG; the policy itself is what matters here.
    const onlyDown = problems.length === 1 && running === undefined && policy === 'resource-and-stonith';
    return result('HA_DRBD_FENCING', onlyDown ? 'warning' : 'error', node.name, `${conf.resource}: ${problems.join('; ')}`, {
      subject: conf.resource,
      data,
      fix: `run \`hvcluster apply\` (it writes the fencing policy and handlers into global_common.conf), then \`drbdadm adjust ${conf.resource}\``,
    });
  }
  return result('HA_DRBD_FENCING', 'pass', node.name, `${conf.resource}: fencing resource-and-stonith, fence-peer ${conf.fencePeer}, ${key === 'afterResyncTarget' ? 'after-resync-target' : 'unfence-peer'} ${path}`, { subject: conf.resource, data });
}
