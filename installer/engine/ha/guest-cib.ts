/**
 * A guest under Pacemaker, as CIB objects: its DRBD resource as a promotable `ocf:linbit:drbd` clone
 * on the nodes that hold its replicas (one Promoted: two only inside a live migration's window, which
 * raises promoted-max), the domain as `ocf:heartbeat:VirtualDomain` with allow-migrate (its XML on
 * every replica node; migration over the replication network, `qemu+ssh://PEER-repl/system`), the
 * guest placed only where its disk is Promoted and started after the promotion, and, on a cluster
 * with more nodes than replicas, kept off (and never probed on) the nodes without a replica.
 * Used for the migration test's guest now, for declared guests later. Pure.
 */
import { REPLICATION_NAME_SUFFIX } from '../../plan/render-model.js';
import { xmlEscape } from './cib.js';

export interface GuestCibInput {
  /** The guest (libvirt domain) name. */
  name: string;
  /** Its DRBD resource. */
  drbdResource: string;
  /** The domain XML's path, the same on every replica node. */
  config: string;
  /** The nodes holding its replicas. */
  holders: string[];
  /** Every node of the cluster. */
  nodes: string[];
  /** Factor on the operations' timeouts (the lab's emulated profile doubles them). */
  timeoutScale?: number;
  /** Stop by destroying the domain at once instead of asking the guest to shut down (a test guest with nothing to shut down). */
  forceStop?: boolean;
}

export interface GuestCibIds {
  drbd: string;
  clone: string;
  vm: string;
  colocation: string;
  order: string;
  /** Two per node without a replica (the clone's and the guest's -INFINITY, never probed there). */
  avoids: string[];
}

/** The ids of a guest's CIB objects (what a clean-up deletes). Pure. */
export function guestCibIds(name: string, nodes: string[] = [], holders: string[] = nodes): GuestCibIds {
  return {
    drbd: `drbd-${name}`,
    clone: `drbd-${name}-clone`,
    vm: `vm-${name}`,
    colocation: `vm-${name}-with-drbd`,
    order: `vm-${name}-after-drbd`,
    avoids: nodes.filter((n) => !holders.includes(n)).flatMap((n) => [`drbd-${name}-avoids-${n}`, `vm-${name}-avoids-${n}`]),
  };
}


const nv = (owner: string, set: string, name: string, value: string) => `<nvpair id="${xmlEscape(`${owner}-${set}-${name}`)}" name="${xmlEscape(name)}" value="${xmlEscape(value)}"/>`;
const attrs = (owner: string, set: 'instance_attributes' | 'meta_attributes', values: Record<string, string>) =>
  [`<${set} id="${xmlEscape(`${owner}-${set}`)}">`, ...Object.entries(values).map(([k, v]) => `  ${nv(owner, set, k, v)}`), `</${set}>`];
const op = (owner: string, name: string, seconds: number, extra: Record<string, string> = {}) => {
  const interval = extra.interval ?? '0s';
  const role = extra.role ? ` role="${extra.role}"` : '';
  return `<op id="${xmlEscape(`${owner}-${name}-${interval}`)}" name="${name}" interval="${interval}" timeout="${seconds}s"${role}/>`;
};
const indent = (lines: string[], by = '  ') => lines.map((l) => by + l);

/** The `<resources>` and `<constraints>` children for one guest, one object each (cibadmin --create takes one). Pure. */
export function guestCib(input: GuestCibInput): { resources: string[]; constraints: string[]; ids: GuestCibIds } {
  const ids = guestCibIds(input.name, input.nodes, input.holders);
  const t = (s: number) => Math.round(s * (input.timeoutScale ?? 1));
  const drbd = [
    `<primitive id="${xmlEscape(ids.drbd)}" class="ocf" provider="linbit" type="drbd">`,
    ...indent(attrs(ids.drbd, 'instance_attributes', { drbd_resource: input.drbdResource, unfence_if_all_uptodate: 'true' })),
    '  <operations>',
    ...indent(
      [
        op(ids.drbd, 'monitor', t(20), { interval: '29s', role: 'Promoted' }),
        op(ids.drbd, 'monitor', t(20), { interval: '31s', role: 'Unpromoted' }),
        op(ids.drbd, 'start', t(240)),
        op(ids.drbd, 'promote', t(90)),
        op(ids.drbd, 'demote', t(90)),
        op(ids.drbd, 'stop', t(100)),
        op(ids.drbd, 'notify', t(90)),
      ],
      '    ',
    ),
    '  </operations>',
    '</primitive>',
  ];
  const clone = [
    `<clone id="${xmlEscape(ids.clone)}">`,
    ...indent(
      attrs(ids.clone, 'meta_attributes', {
        promotable: 'true',
        'promoted-max': '1',
        'promoted-node-max': '1',
        'clone-max': String(input.holders.length),
        'clone-node-max': '1',
        notify: 'true',
      }),
    ),
    ...indent(drbd),
    '</clone>',
  ];
  const vm = [
    `<primitive id="${xmlEscape(ids.vm)}" class="ocf" provider="heartbeat" type="VirtualDomain">`,
    ...indent(
      attrs(ids.vm, 'instance_attributes', {
        config: input.config,
        hypervisor: 'qemu:///system',
        // Migration over the replication network: the virsh client reaches the target's libvirtd
        // through SSH by its replication name (the node-trust step's key); QEMU's stream goes to the
        // target's migration_host (the hypervisor template), so no migrateuri is given.
        remoteuri: `qemu+ssh://%n${REPLICATION_NAME_SUFFIX}/system`,
        ...(input.forceStop ? { force_stop: 'true' } : {}),
        // The agent would otherwise write the guest's CPU and memory into the CIB as utilization on
        // every monitor (six virsh and crm_resource calls each time, and CIB updates that make the
        // scheduler run again). Utilization only counts with a placement-strategy, which hvcluster
        // does not set.
        autoset_utilization_cpu: 'false',
        autoset_utilization_host_memory: 'false',
        autoset_utilization_hv_memory: 'false',
      }),
    ),
    // Stays where it runs (no failback after a failover): stickiness above any placement preference.
    ...indent(attrs(ids.vm, 'meta_attributes', { 'allow-migrate': 'true', 'resource-stickiness': '100' })),
    '  <operations>',
    ...indent(
      [
        op(ids.vm, 'monitor', t(30), { interval: '10s' }),
        op(ids.vm, 'start', t(90)),
        op(ids.vm, 'stop', t(90)),
        op(ids.vm, 'migrate_to', t(120)),
        op(ids.vm, 'migrate_from', t(60)),
      ],
      '    ',
    ),
    '  </operations>',
    '</primitive>',
  ];
  const constraints = [
    `<rsc_colocation id="${xmlEscape(ids.colocation)}" rsc="${xmlEscape(ids.vm)}" with-rsc="${xmlEscape(ids.clone)}" with-rsc-role="Promoted" score="INFINITY"/>`,
    `<rsc_order id="${xmlEscape(ids.order)}" first="${xmlEscape(ids.clone)}" first-action="promote" then="${xmlEscape(ids.vm)}" then-action="start" kind="Mandatory"/>`,
    ...input.nodes
      .filter((n) => !input.holders.includes(n))
      .flatMap((n) =>
        [ids.clone, ids.vm].map(
          (rsc) => `<rsc_location id="${xmlEscape(`${rsc === ids.clone ? ids.drbd : ids.vm}-avoids-${n}`)}" rsc="${xmlEscape(rsc)}" node="${xmlEscape(n)}" score="-INFINITY" resource-discovery="never"/>`,
        ),
      ),
  ];
  return { resources: [clone.join('\n'), vm.join('\n')], constraints, ids };
}
