/**
 * The declared guests (spec.guests), converged like everything else: for each guest, its domain XML
 * on every node that holds its replicas (written first: it marks what hvcluster made, see
 * plan/guest-preflight.ts), one replicated volume per disk (an LV of the same size on each holder and
 * a DRBD resource of its own, volumes.ts), the domain defined on every holder so that it can run on
 * any of them, an image disk's image streamed into it once (import/import-disk.ts, recorded in
 * GUESTS_DIR/RESOURCE.import), and the guest started on its preferred node when it runs nowhere.
 * A guest under Pacemaker (ha) is not defined in libvirt nor started by hvcluster: once its disks are
 * made and imported, its objects (a promotable clone per disk, VirtualDomain, constraints:
 * engine/ha/guest-cib.ts) are created where missing, and apply waits until Pacemaker runs it.
 * A second apply plans nothing; what differs without being safe to change (a running guest whose
 * definition changed) is reported, not forced. Placement and sizes come from preflight (plan.guests).
 */
import { humanBytes } from '../../facts/format.js';
import { importDisk } from '../../import/import-disk.js';
import { chooseCpuModel, guestDomainModel, type GuestModel } from '../../plan/guest-model.js';
import { drbdMetadataMiB } from '../../plan/guests.js';
import { TemplateEnvironment } from '../../render/environment.js';
import type { Change, ScriptAction } from '../change.js';
import { cibIds } from '../ha/cib.js';
import { guestCib, guestCibIds } from '../ha/guest-cib.js';
import { PACEMAKER_SETTLE_MS } from '../ha/guest-pacemaker.js';
import { runningOn, waitForCluster } from '../ha/pacemaker.js';
import { domainFile, domainOf, importRecord, importStatus, stoppedByOperator, stoppedMark, type GuestState } from '../guest-state.js';
import type { Host } from '../host.js';
import { performVolume, planVolumeOnNodes, volumeSite, type VolumePlan, type VolumeRequest, type VolumeSite } from '../volumes.js';
import { changeOf, readValue, StepRefusedError, type NodeInput, type StepInput, type StepKind, type StepPlan } from './step.js';

const templates = new TemplateEnvironment();

interface DiskImportPlan {
  change: Change;
  image: string;
  format: string;
  resource: string;
  device: string;
  /** Index of its volume in GuestPlan.volumes (whether it was proven zero is known once it is made). */
  volume: number;
}

interface GuestPlan {
  name: string;
  volumes: { request: VolumeRequest; plan: VolumePlan }[];
  /** The domain XML written on the holders where it differs (first of all). */
  files: Change[];
  /** `virsh define` where the domain is missing or its XML changed. */
  defines: Change[];
  imports: DiskImportPlan[];
  /** Started by hvcluster (a guest not under Pacemaker). */
  start?: Change;
  /** Handed to Pacemaker (an HA guest: its missing objects created, then waited for until it runs). */
  handOver?: Change;
}

/** How long apply waits for Pacemaker to run a guest it was handed (a guest's boot on the emulated lab included). */
export const HA_GUEST_START_S = 300;

interface GuestsStepPlan extends StepPlan {
  guests: GuestPlan[];
  /** Guests declared `state: absent` that are still somewhere: their removal, Pacemaker's objects first. */
  removals: { guest: string; pacemaker?: Change; nodes: Change[] }[];
  site: VolumeSite;
}

function planGuest(input: StepInput, guest: GuestModel, site: VolumeSite, planned: Map<string, string[]>, notes: NonNullable<StepPlan['notes']>): GuestPlan {
  const nodeOf = (name: string): NodeInput => {
    const node = input.nodes.find((n) => n.node.name === name);
    if (!node) throw new StepRefusedError(name, input.step.name, `guest ${guest.name} is placed on ${name}, which is not a node of this run`);
    return node;
  };
  const holders = guest.holders.map(nodeOf);
  const states = new Map<string, GuestState>(holders.map((h) => [h.node.name, readValue(input, h, 'guests')]));
  for (const [server, state] of states) {
    if (!state.virsh || !state.libvirt) {
      throw new StepRefusedError(server, input.step.name, `libvirtd does not answer (virsh ${state.virsh ? 'is installed' : 'is missing'}): guest ${guest.name} cannot be defined`, 'check `systemctl status libvirtd` on the node and apply again');
    }
  }

  const volumes = guest.disks.map((disk) => {
    // The logical volume holds DRBD's metadata at its end too: the guest sees the disk size it was given.
    const request: VolumeRequest = { name: disk.resource, sizeMiB: disk.sizeMiB + drbdMetadataMiB(disk.sizeMiB), skipInitialSync: input.answers.spec.drbd.initialSync === 'skip-if-blank' };
    const plan = planVolumeOnNodes(input, holders, request, site, planned);
    return { request, plan };
  });

  const ha = guest.ha && input.plan.ha !== undefined;
  const cpuModel = chooseCpuModel([...states.values()].map((s) => s.cpu));
  if (cpuModel === undefined) {
    const offers = [...states].map(([n, s]) => `${n}: ${s.cpu.hostModel ?? 'no host model'}`).join('; ');
    throw new StepRefusedError(guest.holders[0]!, input.step.name, `no CPU model is offered by every node holding guest ${guest.name} (${offers}), so it could not move between them`, 'pair nodes with CPUs of the same vendor and generation');
  }
  const xml = templates.render('guest-domain.xml.hbs', guestDomainModel(input.plan.cluster, guest, volumes.map((v) => v.plan.model.device), cpuModel));
  const path = domainFile(guest.name);
  const files: Change[] = [];
  const defines: Change[] = [];
  for (const h of holders) {
    const state = states.get(h.node.name)!;
    const current = state.files.get(`${guest.name}.xml`);
    const domain = domainOf(state, guest.name);
    if (current !== xml) {
      files.push(changeOf(input, h, `write ${path} (the domain of guest ${guest.name})`, [{ upload: path, content: xml, mode: 0o600, owner: 'root:root', backupDir: input.backupDir }]));
    }
    // Pacemaker's VirtualDomain runs a guest from its XML as a transient domain (and undefines one
    // defined in libvirt before it starts it): an HA guest is never defined.
    if (!ha && (domain.state === 'absent' || current !== xml)) {
      defines.push(changeOf(input, h, `define guest ${guest.name} in libvirt (${guest.vcpus} vCPU, ${guest.memoryMiB} MiB, ${guest.disks.length} disk(s))`, [{ argv: ['virsh', 'define', path] }]));
      if (domain.state === 'running' && current !== undefined) {
        notes.push({ level: 'warn', text: `${h.node.name}: guest ${guest.name} runs with its earlier definition; the new one (${path}) takes effect when it is next started` });
      }
    }
  }

  const running = holders.filter((h) => ['running', 'paused'].includes(domainOf(states.get(h.node.name)!, guest.name).state)).map((h) => h.node.name);
  // Its home: the preferred node, unless it is drained (`node drain`), then another holder.
  const home = [nodeOf(guest.preferredNode), ...holders].find((h) => !states.get(h.node.name)!.standby);
  const preferred = home ?? nodeOf(guest.preferredNode);
  const imports: DiskImportPlan[] = [];
  guest.disks.forEach((disk, k) => {
    if (disk.image === undefined) return;
    // The record is on the node that imported: done anywhere is done, else pending anywhere is pending.
    const records = [...states.values()].map((state) => importStatus(state, disk.resource));
    const status = records.find((r) => r.status === 'done') ?? records.find((r) => r.status === 'pending') ?? { status: 'none' as const };
    const isNew = volumes[k]!.plan.metadata.length > 0;
    if (status.status === 'done') return;
    if (!isNew && status.status === 'none') {
      notes.push({ level: 'info', text: `guest ${guest.name}: ${disk.resource} already holds data (made before this run, not by an import): ${disk.image} is not written into it` });
      return;
    }
    if (running.length > 0) {
      throw new StepRefusedError(running[0]!, input.step.name, `the import of ${disk.image} into ${disk.resource} did not finish, and guest ${guest.name} runs on ${running.join(', ')}`, `stop the guest (virsh destroy ${guest.name}) and apply again to write the image again`);
    }
    const format = disk.imageFormat ?? 'raw';
    const device = volumes[k]!.plan.model.device;
    imports.push({
      change: changeOf(input, preferred, `import ${disk.image} (${format}, ${humanBytes(disk.sizeMiB * 1024 * 1024)}) into ${disk.resource} (${device}) on ${preferred.node.name}, checked by sha256`, [
        { upload: importRecord(disk.resource), content: 'pending\n', mode: 0o644, owner: 'root:root' },
        { argv: ['drbdadm', 'primary', disk.resource] },
        { script: 'nbd-export.sh', args: [device, `/run/hvcluster/import-${disk.resource}-${input.runId}`, '<ssh-user>', '<deadline-s>'] },
        { script: 'nbd-export-end.sh', args: ['<qemu-nbd-pid>', `/run/hvcluster/import-${disk.resource}-${input.runId}`] },
        { script: 'device-sha256.sh', args: [device, '<image-bytes>'] },
        { upload: importRecord(disk.resource), content: 'done <sha256>\n', mode: 0o644, owner: 'root:root' },
        { argv: ['drbdadm', 'secondary', disk.resource] },
      ]),
      image: disk.image,
      format,
      resource: disk.resource,
      device,
      volume: k,
    });
  });

  // Pacemaker starts an HA guest (handOver); hvcluster starts the others.
  const handOver = ha ? planHandOver(input, guest, home?.node.name ?? guest.preferredNode, volumes.map((v) => v.request.name), notes) : undefined;
  let start: Change | undefined;
  const stoppedOn = holders.filter((h) => stoppedByOperator(states.get(h.node.name)!, guest.name)).map((h) => h.node.name);
  if (!ha && guest.autostart && running.length === 0 && stoppedOn.length > 0) {
    notes.push({ level: 'info', text: `guest ${guest.name} is not started: it was stopped with \`hvcluster guest stop\` (${stoppedMark(guest.name)} on ${stoppedOn.join(', ')}); \`hvcluster guest start ${guest.name}\` starts it` });
  } else if (!ha && guest.autostart && running.length === 0 && !home) {
    notes.push({ level: 'warn', text: `guest ${guest.name} is not started: every node holding it is in standby (hvcluster node resume NODE)` });
  } else if (!ha && guest.autostart && running.length === 0) {
    const why = preferred.node.name === guest.preferredNode ? 'its preferred node' : `${guest.preferredNode}, its preferred node, is in standby`;
    start = changeOf(input, preferred, `start guest ${guest.name} on ${preferred.node.name} (${why})`, [
      ...guest.disks.map((d) => ({ argv: ['drbdadm', 'primary', d.resource] })),
      { argv: ['virsh', 'start', guest.name] },
    ]);
  }
  return { name: guest.name, volumes, files, defines, imports, ...(start ? { start } : {}), ...(handOver ? { handOver } : {}) };
}

/** The first node whose Pacemaker answers, with the ids in its CIB (the CIB is the cluster's, the same from every member). Pure. */
function liveCib(input: StepInput): { n: NodeInput; ids: Set<string> } | undefined {
  for (const n of input.nodes) {
    const cib = readValue(input, n, 'cib');
    if (cib.state === 'active') return { n, ids: cibIds(cib.xml) };
  }
  return undefined;
}

/**
 * An HA guest's objects in Pacemaker: those missing are created (all of them for a new guest, the rest
 * of them after an interrupted apply), on a node whose Pacemaker answers, then apply waits until the
 * guest runs. Objects already there are left as they are (a changed declaration is not forced onto a
 * running guest). Pure.
 */
function planHandOver(input: StepInput, guest: GuestModel, preferredNode: string, resources: string[], notes: NonNullable<StepPlan['notes']>): Change | undefined {
  const cib = guestCib({
    name: guest.name,
    drbdResources: resources,
    config: domainFile(guest.name),
    holders: guest.holders,
    nodes: input.nodes.map((n) => n.node.name),
    // A guest declared `autostart: false` is made stopped, with no placement (nothing starts it here).
    ...(guest.autostart ? { preferredNode } : { stopped: true }),
    timeoutScale: input.plan.ha?.timing.resourceTimeoutScale ?? 1,
  });
  const live = liveCib(input);
  if (!live && !input.stale) {
    throw new StepRefusedError(input.self.node.name, input.step.name, `guest ${guest.name} is to run under Pacemaker, which answers on no node`, 'Look at `crm_mon -1` and `journalctl -u pacemaker` on the nodes; then run apply again.');
  }
  const present = live?.ids ?? new Set<string>();
  // The placement is temporary (removed once the guest runs): never missing from a guest in place.
  const objects = [...cib.resources.map((xml) => ({ section: 'resources', xml })), ...cib.constraints.map((xml) => ({ section: 'constraints', xml }))];
  const idOf = (xml: string) => / id="([^"]+)"/.exec(xml)![1]!;
  const lasting = objects.filter((o) => idOf(o.xml) !== cib.ids.placement);
  if (lasting.every((o) => present.has(idOf(o.xml)))) return undefined;
  const missing = objects.filter((o) => !present.has(idOf(o.xml)));
  if (missing.length < objects.length) notes.push({ level: 'info', text: `guest ${guest.name}: ${missing.filter((o) => idOf(o.xml) !== cib.ids.placement).length} of its ${lasting.length} Pacemaker objects are missing (an apply that did not finish): they are created` });
  const on = live?.n ?? input.self;
  const made = [...cib.ids.disks.map((d) => d.clone), cib.ids.vm].join(', ');
  const create = missing.map((o) => ({ argv: ['cibadmin', '--create', '--scope', o.section, '--xml-text', o.xml] }));
  if (!guest.autostart) return changeOf(input, on, `hand guest ${guest.name} to Pacemaker (${made}) stopped (autostart: false; \`hvcluster guest start ${guest.name}\` starts it)`, create);
  return changeOf(input, on, `hand guest ${guest.name} to Pacemaker (${made}; preferring ${preferredNode}) and wait until it runs there`, [
    ...create,
    { script: 'resource-started.sh', args: [cib.ids.vm, String(HA_GUEST_START_S)], timeoutMs: (HA_GUEST_START_S + 60) * 1000 },
    // Placed, not pinned: once it runs, its stickiness keeps it (no pull back to this node after a failover).
    ...(cib.ids.placement ? [{ script: 'cib-remove.sh', args: [cib.ids.placement], timeoutMs: 120_000 }] : []),
  ]);
}

/**
 * A guest declared `state: absent`: everything of it on every node removed (apply asks for its name,
 * or --yes): its Pacemaker objects (an HA cluster), its domain's definition, each disk's DRBD
 * resource taken down, its file and logical volume deleted, its import records, its XML and stopped
 * mark. A guest that runs is refused: it is stopped first (`hvcluster guest stop`). Nothing of it
 * left: no change. Pure.
 */
function planRemoval(input: StepInput, guest: GuestModel, notes: NonNullable<StepPlan['notes']>): GuestsStepPlan['removals'][number] | undefined {
  const vg = input.answers.spec.storage.volumeGroup;
  const resources = guest.disks.map((d) => d.resource);
  let pacemaker: Change | undefined;
  if (input.plan.ha) {
    const ids = guestCibIds(guest.name, resources, input.nodes.map((n) => n.node.name), guest.holders);
    const live = liveCib(input);
    const present = ids.all.filter((id) => live?.ids.has(id));
    if (live && present.length > 0) {
      pacemaker = changeOf(input, live.n, `remove guest ${guest.name} from Pacemaker (stopped first; ${present.join(', ')})`, [
        ...[ids.vm, ...ids.disks.map((d) => d.clone)].filter((id) => present.includes(id)).map((id) => ({ argv: ['crm_resource', '--resource', id, '--meta', '--set-parameter', 'target-role', '--parameter-value', 'Stopped'] })),
        { script: 'cib-remove.sh', args: present, timeoutMs: 120_000 },
      ]);
    }
  }
  const nodes: Change[] = [];
  for (const n of input.nodes) {
    const state = readValue(input, n, 'guests');
    const volumes = readValue(input, n, 'volumes');
    const domain = domainOf(state, guest.name);
    if (domain.state === 'running' || domain.state === 'paused') {
      throw new StepRefusedError(n.node.name, input.step.name, `guest ${guest.name} is declared state: absent but runs on ${n.node.name}: hvcluster does not remove a running guest`, `stop it first: hvcluster guest stop ${guest.name} -f site.yaml`);
    }
    const actions: Change['actions'] = [];
    if (domain.state !== 'absent') actions.push({ script: 'domain-undefine.sh', args: [guest.name] });
    for (const resource of resources) {
      const v = volumes.byName.get(resource);
      if (v?.state.cstate) actions.push({ script: 'drbd-down.sh', args: [resource] });
      if (volumes.resourceFiles.has(`${resource}.res`)) actions.push({ argv: ['rm', '-f', `/etc/drbd.d/${resource}.res`] });
      if (v?.lvPresent) actions.push({ argv: ['lvremove', '-y', `${vg}/${resource}`] });
      if (state.files.has(`${resource}.import`)) actions.push({ argv: ['rm', '-f', importRecord(resource)] });
    }
    const files = [`${guest.name}.xml`, `${guest.name}.stopped`].filter((f) => state.files.has(f));
    if (files.length > 0) actions.push({ argv: ['rm', '-f', ...files.map((f) => `${domainFile(guest.name).replace(/[^/]+$/, '')}${f}`)] });
    if (actions.length > 0) nodes.push(changeOf(input, n, `remove guest ${guest.name} from ${n.node.name} (state: absent): ${resources.filter((r) => volumes.byName.get(r)?.lvPresent).map((r) => `${vg}/${r}`).join(', ') || 'no disk left'}`, actions));
  }
  if (!pacemaker && nodes.length === 0) return undefined;
  notes.push({ level: 'warn', text: `guest ${guest.name} is declared state: absent: its disks and everything else of it are deleted on ${nodes.map((c) => c.server).join(', ') || 'no node'}` });
  return { guest: guest.name, ...(pacemaker ? { pacemaker } : {}), nodes };
}

export const guestsStep: StepKind<GuestsStepPlan> = {
  scope: 'cluster',
  reads: ['volumes', 'guests', 'cib'],
  plan(input) {
    const site = volumeSite(input.answers.spec, input.plan.drbdMajor, input.backupDir, input.step.name);
    const planned = new Map<string, string[]>();
    const notes: NonNullable<StepPlan['notes']> = [];
    const removals = (input.plan.guests ?? []).filter((g) => g.state === 'absent').flatMap((g) => planRemoval(input, g, notes) ?? []);
    const guests = (input.plan.guests ?? []).filter((g) => g.state === 'present').map((g) => planGuest(input, g, site, planned, notes));
    const changes = removals.flatMap((r) => [...(r.pacemaker ? [r.pacemaker] : []), ...r.nodes]).concat(guests.flatMap((g) => [...g.files, ...g.volumes.flatMap((v) => v.plan.changes), ...g.defines, ...g.imports.map((i) => i.change), ...(g.start ? [g.start] : []), ...(g.handOver ? [g.handOver] : [])]));
    return { changes, guests, removals, site, notes };
  },
  async perform(hosts: Map<string, Host>, plan) {
    // Removals first (their space and names may be what a new guest needs); Pacemaker lets go of a
    // guest before its disks are taken down.
    for (const removal of plan.removals) {
      if (removal.pacemaker) await performPacemakerRemoval(hosts.get(removal.pacemaker.server)!, removal.pacemaker, removal.guest);
      await Promise.all(removal.nodes.map((c) => hosts.get(c.server)!.perform(c)));
    }
    // One guest at a time, its volumes one at a time: new minors and ports were planned around each other.
    for (const guest of plan.guests) {
      await Promise.all(guest.files.map((c) => hosts.get(c.server)!.perform(c)));
      const made: { provenZero: boolean }[] = [];
      for (const volume of guest.volumes) made.push(await performVolume(hosts, volume.plan, volume.request, plan.site));
      await Promise.all(guest.defines.map((c) => hosts.get(c.server)!.perform(c)));
      for (const imp of guest.imports) await performImport(hosts.get(imp.change.server)!, imp, made[imp.volume]?.provenZero ?? false);
      if (guest.start) await performStart(hosts.get(guest.start.server)!, guest.start, guest.name);
      if (guest.handOver) await hosts.get(guest.handOver.server)!.perform(guest.handOver);
    }
  },
};

async function performImport(host: Host, imp: DiskImportPlan, targetIsZero: boolean): Promise<void> {
  await host.procedure(imp.change, async (io) => {
    await io.perform({ upload: importRecord(imp.resource), content: 'pending\n', mode: 0o644, owner: 'root:root' });
    await io.run({ argv: ['drbdadm', 'primary', imp.resource] });
    try {
      let shown = -1;
      const result = await importDisk(host, io, { image: imp.image, format: imp.format, device: imp.device, resource: imp.resource, targetIsZero }, (done, total, elapsedMs) => {
        const percent = Math.floor((done / total) * 100);
        if (percent === shown) return;
        shown = percent;
        const mibs = done / 1024 / 1024 / Math.max(0.001, elapsedMs / 1000);
        host.progress(percent, `import of ${imp.resource}: ${humanBytes(done)} of ${humanBytes(total)}, ${mibs.toFixed(1)} MiB/s`);
      });
      const seconds = result.elapsedMs / 1000;
      host.log(
        `imported ${imp.image} into ${imp.resource}: ${humanBytes(result.bytes)} in ${seconds.toFixed(1)} s (${(result.bytes / 1024 / 1024 / Math.max(0.001, seconds)).toFixed(1)} MiB/s; ${humanBytes(result.dataBytes)} of data, ${humanBytes(result.zeroBytes)} of zeroes), sha256 ${result.sha256} read back from ${imp.device}`,
      );
      await io.perform({ upload: importRecord(imp.resource), content: `done ${result.sha256}\n`, mode: 0o644, owner: 'root:root' });
    } finally {
      await io.run({ argv: ['drbdadm', 'secondary', imp.resource] }, { allowFailure: true });
    }
  });
}

/** Promotes the guest's disks and starts it; a start that fails leaves its disks Secondary again. */
async function performStart(host: Host, change: Change, name: string): Promise<void> {
  await host.procedure(change, async (io) => {
    const promoted: string[] = [];
    try {
      for (const action of change.actions) {
        await io.perform(action);
        if ('argv' in action && action.argv[1] === 'primary') promoted.push(action.argv[2]!);
      }
    } catch (error) {
      for (const resource of promoted) await io.run({ argv: ['drbdadm', 'secondary', resource] }, { allowFailure: true });
      throw new Error(`guest ${name} did not start: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

/** Pacemaker's objects of a removed guest: stopped (target-role), waited for until nothing of it runs, then deleted. */
async function performPacemakerRemoval(host: Host, change: Change, guest: string): Promise<void> {
  // The change's actions: target-role Stopped on the guest and its clones, then cib-remove.sh of every object.
  const stops = change.actions.slice(0, -1);
  const remove = change.actions.at(-1) as ScriptAction;
  await host.procedure(change, async (io) => {
    for (const action of stops) await io.perform(action);
    await waitForCluster(host, `Pacemaker to stop guest ${guest} and its disks`, (s) => (remove.args.every((id) => runningOn(s, id).length === 0) ? true : undefined), PACEMAKER_SETTLE_MS);
    await io.perform(remove);
  });
}

