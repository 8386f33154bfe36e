/**
 * A guest under Pacemaker, as CIB objects: each of its disks' DRBD resources as a promotable
 * `ocf:linbit:drbd` clone on the nodes that hold its replicas (one Promoted: two only inside a live
 * migration's window, which raises promoted-max), the domain as `ocf:heartbeat:VirtualDomain` with
 * allow-migrate (its XML on every replica node; migration over the replication network,
 * `qemu+ssh://PEER-repl/system`), the guest placed only where every disk of it is Promoted and
 * started after their promotion, and, on a cluster with more nodes than replicas, kept off (and never
 * probed on) the nodes without a replica. Where it first starts: a placement constraint on its
 * preferred node, removed once it runs there (a standing preference would pull it back when that
 * node returns after a failover, even before the guest has finished starting on the survivor).
 * The migration test's guest and the declared guests alike. Pure.
 */
import { REPLICATION_NAME_SUFFIX } from '../../plan/render-model.js';
import { xmlEscape } from './cib.js';

export interface GuestCibInput {
  /** The guest (libvirt domain) name. */
  name: string;
  /** Its disks' DRBD resources, in disk order. */
  drbdResources: readonly string[];
  /** The domain XML's path, the same on every replica node. */
  config: string;
  /** The nodes holding its replicas. */
  holders: readonly string[];
  /** Every node of the cluster. */
  nodes: readonly string[];
  /** Where it first starts (a placement constraint the caller removes once it runs: `ids.placement`). */
  preferredNode?: string;
  /** Factor on the operations' timeouts (the lab's emulated profile doubles them). */
  timeoutScale?: number;
  /** Stop by destroying the domain at once instead of asking the guest to shut down (a test guest with nothing to shut down). */
  forceStop?: boolean;
  /** Made stopped (target-role Stopped: the answer file's `autostart: false`); `guest start` starts it. */
  stopped?: boolean;
}

/**
 * VirtualDomain's stop timeout before the timing's scale, s: how long Pacemaker lets a guest shut
 * down (ACPI) before the stop counts as failed and the node is fenced. The agent destroys the guest in
 * the last 5 s; hvcluster's own stops destroy it earlier (engine/ha/guest-pacemaker.ts).
 */
export const VM_STOP_TIMEOUT_S = 90;

/** The objects of one disk: its DRBD primitive and clone, and the guest's constraints on it. */
export interface GuestDiskIds {
  resource: string;
  drbd: string;
  clone: string;
  /** The guest only where this disk is Promoted. */
  colocation: string;
  /** The guest started after this disk's promotion. */
  order: string;
}

export interface GuestCibIds {
  vm: string;
  disks: GuestDiskIds[];
  /** The temporary placement on the preferred node (when one is given): removed once the guest runs. */
  placement: string | null;
  /** Two per node without a replica and disk (each clone's and the guest's -INFINITY, never probed there). */
  avoids: string[];
  /** Every id, constraints first, then the guest, then its clones: the order a removal deletes them in. */
  all: string[];
}

/** The ids of a guest's CIB objects. Pure. */
export function guestCibIds(name: string, resources: readonly string[], nodes: readonly string[] = [], holders: readonly string[] = nodes, preferredNode?: string): GuestCibIds {
  const vm = `vm-${name}`;
  const disks = resources.map((resource) => {
    const drbd = `drbd-${resource}`;
    return { resource, drbd, clone: `${drbd}-clone`, colocation: `${vm}-with-${drbd}`, order: `${vm}-after-${drbd}` };
  });
  const outside = nodes.filter((n) => !holders.includes(n));
  const avoids = outside.flatMap((n) => [...disks.map((d) => `${d.drbd}-avoids-${n}`), `${vm}-avoids-${n}`]);
  const placement = preferredNode ? `${vm}-placed-on-${preferredNode}` : null;
  return {
    vm,
    disks,
    placement,
    avoids,
    all: [...disks.flatMap((d) => [d.colocation, d.order]), ...(placement ? [placement] : []), ...avoids, vm, ...disks.map((d) => d.clone)],
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
  const ids = guestCibIds(input.name, input.drbdResources, input.nodes, input.holders, input.preferredNode);
  const t = (s: number) => Math.round(s * (input.timeoutScale ?? 1));
  const clones = ids.disks.map((disk) => {
    const drbd = [
      `<primitive id="${xmlEscape(disk.drbd)}" class="ocf" provider="linbit" type="drbd">`,
      ...indent(attrs(disk.drbd, 'instance_attributes', { drbd_resource: disk.resource, unfence_if_all_uptodate: 'true' })),
      '  <operations>',
      ...indent(
        [
          op(disk.drbd, 'monitor', t(20), { interval: '29s', role: 'Promoted' }),
          op(disk.drbd, 'monitor', t(20), { interval: '31s', role: 'Unpromoted' }),
          op(disk.drbd, 'start', t(240)),
          op(disk.drbd, 'promote', t(90)),
          op(disk.drbd, 'demote', t(90)),
          op(disk.drbd, 'stop', t(100)),
          op(disk.drbd, 'notify', t(90)),
        ],
        '    ',
      ),
      '  </operations>',
      '</primitive>',
    ];
    return [
      `<clone id="${xmlEscape(disk.clone)}">`,
      ...indent(
        attrs(disk.clone, 'meta_attributes', {
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
    ].join('\n');
  });
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
    ...indent(attrs(ids.vm, 'meta_attributes', { 'allow-migrate': 'true', 'resource-stickiness': '100', ...(input.stopped ? { 'target-role': 'Stopped' } : {}) })),
    '  <operations>',
    ...indent(
      [
        op(ids.vm, 'monitor', t(30), { interval: '10s' }),
        op(ids.vm, 'start', t(90)),
        op(ids.vm, 'stop', t(VM_STOP_TIMEOUT_S)),
        op(ids.vm, 'migrate_to', t(120)),
        op(ids.vm, 'migrate_from', t(60)),
      ],
      '    ',
    ),
    '  </operations>',
    '</primitive>',
  ];
  const outside = input.nodes.filter((n) => !input.holders.includes(n));
  const constraints = [
    ...ids.disks.flatMap((disk) => [
      `<rsc_colocation id="${xmlEscape(disk.colocation)}" rsc="${xmlEscape(ids.vm)}" with-rsc="${xmlEscape(disk.clone)}" with-rsc-role="Promoted" score="INFINITY"/>`,
      `<rsc_order id="${xmlEscape(disk.order)}" first="${xmlEscape(disk.clone)}" first-action="promote" then="${xmlEscape(ids.vm)}" then-action="start" kind="Mandatory"/>`,
    ]),
    ...(ids.placement && input.preferredNode ? [`<rsc_location id="${xmlEscape(ids.placement)}" rsc="${xmlEscape(ids.vm)}" node="${xmlEscape(input.preferredNode)}" score="1000"/>`] : []),
    ...outside.flatMap((n) => [
      ...ids.disks.map((disk) => `<rsc_location id="${xmlEscape(`${disk.drbd}-avoids-${n}`)}" rsc="${xmlEscape(disk.clone)}" node="${xmlEscape(n)}" score="-INFINITY" resource-discovery="never"/>`),
      `<rsc_location id="${xmlEscape(`${ids.vm}-avoids-${n}`)}" rsc="${xmlEscape(ids.vm)}" node="${xmlEscape(n)}" score="-INFINITY" resource-discovery="never"/>`,
    ]),
  ];
  return { resources: [...clones, vm.join('\n')], constraints, ids };
}
