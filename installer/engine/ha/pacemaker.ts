/**
 * Talking to a running Pacemaker from the installer: its status (crm_mon's XML, one parser), waiting
 * for a state with a deadline, and the few commands that act on resources (meta attributes, move,
 * clear, stop and remove), each a mutation through the guard. Commands run on one live node: the CIB
 * is the cluster's, the same from every member.
 */
import { parseCrmMon, type CrmResource, type CrmStatus } from '../../facts/parse/crm-mon.js';
import type { Host } from '../host.js';
import { waitFor } from '../steps/step.js';

export async function crmStatus(host: Host): Promise<CrmStatus> {
  const r = await host.read({ argv: ['crm_mon', '-1', '--output-as=xml'], timeoutMs: 60_000 });
  return parseCrmMon(r.stdout);
}

/** The active instances of a resource (a primitive, a clone's primitive, or a clone by its own id): node and role. Pure. */
export function instances(status: CrmStatus, id: string): { node: string; role: string; failed: boolean }[] {
  return status.resources
    .filter((r: CrmResource) => (r.id === id || r.id.startsWith(`${id}:`) || r.clone?.id === id) && r.active)
    .flatMap((r) => r.nodes.map((node) => ({ node, role: r.role, failed: r.failed })));
}

/** The nodes where a resource runs (any role). Pure. */
export const runningOn = (status: CrmStatus, id: string): string[] => instances(status, id).map((i) => i.node);

/** The nodes where a promotable clone's primitive is Promoted. Pure. */
export const promotedOn = (status: CrmStatus, id: string): string[] => instances(status, id).filter((i) => i.role === 'Promoted' || i.role === 'Master').map((i) => i.node);

/**
 * The nodes where a promotable clone's primitive may be Primary: Promoted, or on its way in or out
 * (crm_mon says Promoting or Demoting while the agent runs: DRBD is still Primary during a demote).
 * What a caller waits on before it forbids two primaries. Pure.
 */
export const mayBePromotedOn = (status: CrmStatus, id: string): string[] =>
  instances(status, id).filter((i) => ['Promoted', 'Master', 'Promoting', 'Demoting'].includes(i.role)).map((i) => i.node);

/**
 * What a timeout message says of the cluster: nodes not online, the resources (fence devices left
 * out) with role and node, and the failed operations. Pure.
 */
export function statusText(status: CrmStatus): string {
  const nodes = status.nodes.filter((n) => !n.online || n.unclean || n.pending || n.standby).map((n) => `${n.name} ${n.unclean ? 'UNCLEAN' : n.pending ? 'pending' : n.online ? 'standby' : 'offline'}`);
  const resources = status.resources.filter((r) => !r.agent.startsWith('stonith:')).map((r) => `${r.id} ${r.role}${r.nodes.length ? ` on ${r.nodes.join(',')}` : ''}${r.failed ? ' FAILED' : ''}`);
  const failures = status.failures.map((f) => `${f.opKey} on ${f.node}: ${f.exitStatus}${f.exitReason ? ` (${f.exitReason})` : ''}`);
  return [
    nodes.length ? `nodes ${nodes.join(', ')}` : 'all nodes online',
    `resources ${resources.join('; ') || 'none'}`,
    ...(failures.length ? [`failed operations ${failures.join('; ')}`] : []),
  ].join('; ');
}

/** Polls crm_mon until `probe` returns a value (or the deadline passes: the error names what was awaited and the last state). */
export async function waitForCluster<T>(host: Host, what: string, probe: (status: CrmStatus) => T | undefined, timeoutMs: number): Promise<T> {
  let last = '';
  try {
    return await waitFor(
      what,
      async () => {
        const status = await crmStatus(host);
        last = statusText(status);
        return probe(status);
      },
      { timeoutMs, intervalMs: 1000 },
    );
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; crm_mon on ${host.server}: ${last || 'no answer'}`);
  }
}

/** Sets a meta attribute of a resource (a clone's promoted-max, a target-role). */
export async function setMeta(host: Host, id: string, name: string, value: string, why: string): Promise<void> {
  await host.mutate(`set ${name}=${value} on ${id} (${why})`, { argv: ['crm_resource', '--resource', id, '--meta', '--set-parameter', name, '--parameter-value', value], timeoutMs: 60_000 });
}

/** Asks Pacemaker to move a resource to a node (a temporary preference, removed with `clearMove`). */
export async function moveResource(host: Host, id: string, node: string): Promise<void> {
  await host.mutate(`move ${id} to ${node} (crm_resource --move)`, { argv: ['crm_resource', '--move', '--resource', id, '--node', node], timeoutMs: 60_000 });
}

/** Removes the preference a move left (the resource stays where it is: its stickiness holds it). */
export async function clearMove(host: Host, id: string): Promise<void> {
  await host.mutate(`remove the move constraint of ${id} (crm_resource --clear)`, { argv: ['crm_resource', '--clear', '--resource', id], timeoutMs: 60_000 });
}

/** Adds CIB objects (cibadmin --create into a section, one object per call: cibadmin takes one). */
export async function createCibObjects(host: Host, section: 'resources' | 'constraints', xml: string[], what: string): Promise<void> {
  await host.perform({
    server: host.server,
    step: host.step,
    description: `add ${what} to Pacemaker's configuration`,
    actions: xml.map((object) => ({ argv: ['cibadmin', '--create', '--scope', section, '--xml-text', object], timeoutMs: 60_000 })),
  });
}

/** Deletes CIB objects by id, wherever they are (installer/remote/cib-remove.sh; absent ones are skipped). */
export async function removeCibObjects(host: Host, ids: string[], what: string): Promise<void> {
  await host.mutate(`remove ${what} from Pacemaker's configuration (${ids.join(', ')})`, { script: 'cib-remove.sh', args: ids, timeoutMs: 120_000 });
}
