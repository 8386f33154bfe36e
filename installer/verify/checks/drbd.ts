/** DRBD: module, versions, utilities, and every resource on every node that holds it. */
import { clockDuration } from '../../facts/format.js';
import { probe, reachable, result, why } from './common.js';
import { parseEvents2, type Events2Resource } from '../../facts/parse/drbd-events2.js';
import { parseProcDrbd, type ProcDrbdMinor, type ResyncProgress } from '../../facts/parse/proc-drbd.js';
import { parseDrbdKernelLog, parseGuests, parseResourceConfigs, splitConfigFiles, type DrbdLogLine, type DrbdResourceConfig, type GuestInfo } from '../parse.js';
import { RESYNC_SAMPLE_SECONDS } from '../probes.js';
import { CLUSTER, type CheckResult, type ReachableNode, type VerifyInput } from '../types.js';

const major = (v: string | null | undefined) => (v ? Number(v.split('.')[0]) : null);

export function drbdModuleChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  const nodes = reachable(input);
  for (const node of nodes) {
    const d = node.facts.drbd;
    if (!d.ok) {
      out.push(result('DRBD_MODULE', 'error', node.name, `could not read the DRBD state: ${d.reason}`, { fix: 'check `cat /proc/drbd` and `modinfo drbd` on the node' }));
      out.push(result('DRBD_UTILS', 'skipped', node.name, 'the DRBD state could not be read'));
      continue;
    }
    const v = d.value;
    if (v.loadedVersion === null) {
      out.push(
        result('DRBD_MODULE', 'error', node.name, `the DRBD module is not loaded (no /proc/drbd)${v.moduleVersion ? `; modinfo offers ${v.moduleVersion}` : ''}`, {
          fix: 'run `hvcluster apply` (it loads drbd and lists it in /etc/modules-load.d) or `modprobe drbd`',
        }),
      );
    } else {
      const helper = probe(node, 'helper');
      const helperPath = helper?.exitCode === 0 ? helper.stdout.trim() : null;
      if (helperPath !== null && !/(^|\/)drbdadm$/.test(helperPath)) {
        out.push(
          result('DRBD_MODULE', 'error', node.name, `DRBD ${v.loadedVersion} loaded, but its usermode helper is ${helperPath}: no fence-peer or split-brain handler runs`, {
            fix: 'set the module parameter usermode_helper=/sbin/drbdadm (/etc/modprobe.d) and reload the module',
          }),
        );
      } else out.push(result('DRBD_MODULE', 'pass', node.name, `DRBD ${v.loadedVersion} loaded${helperPath ? `, helper ${helperPath}` : ''}`, { data: { version: v.loadedVersion } }));
    }

    if (v.utilsVersion === null) {
      out.push(result('DRBD_UTILS', 'error', node.name, 'drbd-utils is not installed (no drbdadm)', { fix: 'run `hvcluster apply` or `apt-get install drbd-utils`' }));
    } else if (v.loadedVersion && major(v.loadedVersion) === 9 && (major(v.utilsVersion) ?? 0) < 9) {
      out.push(result('DRBD_UTILS', 'error', node.name, `drbd-utils ${v.utilsVersion} cannot drive the DRBD 9 module ${v.loadedVersion}`, { fix: 'install drbd-utils 9.x' }));
    } else if (v.loadedVersion && v.utilsKernelVersion && v.utilsKernelVersion !== v.loadedVersion) {
      out.push(
        result('DRBD_UTILS', 'warning', node.name, `drbd-utils ${v.utilsVersion} sees kernel module ${v.utilsKernelVersion}, /proc/drbd says ${v.loadedVersion}`, {
          fix: 'reload the module or reboot so the loaded module is the installed one',
        }),
      );
    } else {
      out.push(result('DRBD_UTILS', 'pass', node.name, `drbd-utils ${v.utilsVersion}${v.loadedVersion ? ` drives module ${v.loadedVersion}` : ''}`, { data: { utils: v.utilsVersion } }));
    }
  }

  const versions = nodes.map((n) => ({ name: n.name, version: n.facts.drbd.ok ? n.facts.drbd.value.loadedVersion : null })).filter((x) => x.version !== null);
  if (versions.length >= 2) {
    const servers = versions.map((x) => x.name);
    const distinct = new Set(versions.map((x) => x.version));
    const list = versions.map((x) => `${x.name} ${x.version}`).join(', ');
    if (distinct.size === 1) out.push(result('DRBD_VERSION', 'pass', CLUSTER, `DRBD ${versions[0]!.version} on ${servers.join(', ')}`, { servers }));
    else {
      const majors = new Set(versions.map((x) => major(x.version)));
      out.push(
        result('DRBD_VERSION', majors.size > 1 ? 'error' : 'warning', CLUSTER, `the loaded DRBD modules differ: ${list}`, {
          servers,
          fix: majors.size > 1 ? 'DRBD 8.4 and 9 do not replicate with each other: load the same major version on every node' : 'run the same kernel (and DRBD module) on every node',
        }),
      );
    }
  }
  return out;
}

interface NodeDrbd {
  node: ReachableNode;
  configs: DrbdResourceConfig[];
  files: Map<string, string>;
  running: Events2Resource[];
  oosByMinor: Map<number, number>;
  /** /proc/drbd per minor, and its second look RESYNC_SAMPLE_SECONDS later (taken only while a resync runs). */
  procByMinor: Map<number, ProcDrbdMinor>;
  procLaterByMinor: Map<number, ProcDrbdMinor> | null;
  guests: GuestInfo[];
}

function nodeDrbd(node: ReachableNode): NodeDrbd {
  const conf = probe(node, 'conf');
  const files = conf?.exitCode === 0 ? splitConfigFiles(conf.stdout) : new Map<string, string>();
  const events = probe(node, 'events2');
  let running: Events2Resource[] = events?.exitCode === 0 ? parseEvents2(events.stdout) : [];
  const proc = probe(node, 'proc');
  const procParsed = proc?.exitCode === 0 ? parseProcDrbd(proc.stdout) : { version: null, minors: [] };
  const configs = parseResourceConfigs(files);
  if (running.length === 0 && procParsed.minors.length > 0 && events?.exitCode !== 0) {
    // Fallback: /proc/drbd's minors, named through the configuration.
    running = procParsed.minors
      .filter((m) => m.cs !== 'Unconfigured')
      .map((m) => {
        const cfg = configs.find((c) => c.minor === m.minor);
        const [role, peerRole] = (m.ro ?? '').split('/');
        const [disk, peerDisk] = (m.ds ?? '').split('/');
        const cs = m.cs ?? null;
        return {
          name: cfg?.name ?? `minor ${m.minor}`,
          role: role ?? null,
          suspended: null,
          writeOrdering: null,
          devices: [{ volume: 0, minor: m.minor, disk: disk ?? null, sizeKiB: null, blocked: null }],
          connections: [
            {
              peer: cfg?.hosts.find((h) => h.name !== node.name)?.name ?? 'peer',
              connection: cs === 'Connected' || cs?.startsWith('Sync') || cs?.startsWith('PausedSync') ? 'Connected' : cs,
              role: peerRole ?? null,
              congested: null,
              peerDevices: [{ volume: 0, replication: cs === 'Connected' ? 'Established' : cs, peerDisk: peerDisk ?? null, resyncSuspended: null, outOfSyncKiB: m.oosKiB }],
            },
          ],
        };
      });
  }
  // 8.4 names its single connection `peer` (conn-name:peer): give it the peer's name from the configuration.
  running = running.map((r) => {
    const peers = configs.find((c) => c.name === r.name)?.hosts.map((h) => h.name).filter((h) => h !== node.name) ?? [];
    if (peers.length === 1 && r.connections.length === 1 && !peers.includes(r.connections[0]!.peer)) {
      return { ...r, connections: [{ ...r.connections[0]!, peer: peers[0]! }] };
    }
    return r;
  });
  const doms = probe(node, 'doms');
  const later = probe(node, 'proc-later');
  return {
    node,
    configs,
    files,
    running,
    oosByMinor: new Map(procParsed.minors.filter((m) => m.oosKiB !== null).map((m) => [m.minor, m.oosKiB!])),
    procByMinor: new Map(procParsed.minors.map((m) => [m.minor, m])),
    procLaterByMinor: later?.exitCode === 0 ? new Map(parseProcDrbd(later.stdout).minors.map((m) => [m.minor, m])) : null,
    guests: doms ? parseGuests(doms.stdout) : [],
  };
}

const SYNCING = /^(Sync|PausedSync|Verify)/;
const RESYNC = /^(Sync(Source|Target)|PausedSync[ST])$/;

const kib = (n: number) => n.toLocaleString('en-US');

interface ResyncVerdict {
  status: 'warning' | 'error';
  found: string;
  fix: string;
  progress: ResyncProgress | null;
  data: Record<string, unknown>;
}

/**
 * A running (or paused) resync of one resource on one node: its progress from /proc/drbd, and whether it
 * moves. Stalled: the kernel says so (no block for 180 s), or the second look RESYNC_SAMPLE_SECONDS
 * later found as much left to resync as the first (or, without a second look, the kernel's ~18 s speed is 0).
 */
function resyncState(
  name: string,
  nodeName: string,
  live: Events2Resource,
  minors: number[],
  procByMinor: Map<number, ProcDrbdMinor>,
  procLaterByMinor: Map<number, ProcDrbdMinor> | null,
): ResyncVerdict | null {
  const pds = live.connections.flatMap((c) => c.peerDevices.map((p) => ({ peer: c.peer, ...p })));
  const procs = minors.map((m) => procByMinor.get(m)).filter((m): m is ProcDrbdMinor => m !== undefined);
  const running = pds.filter((p) => RESYNC.test(p.replication ?? ''));
  const fromProc = procs.filter((m) => m.resync !== null || RESYNC.test(m.cs ?? ''));
  if (running.length === 0 && fromProc.length === 0) return null;
  const repl = running[0]?.replication ?? fromProc[0]?.cs ?? 'Sync';
  const peer = running[0]?.peer ?? live.connections[0]?.peer ?? 'the peer';
  const direction = /(SyncTarget|PausedSyncT)$/.test(repl) ? `from ${peer}` : `to ${peer}`;
  const minor = fromProc[0] ?? procs[0];
  const progress = minor?.resync ?? null;
  const later = minor && procLaterByMinor ? (procLaterByMinor.get(minor.minor) ?? null) : null;
  const oos = pds.map((p) => p.outOfSyncKiB).filter((x): x is number => x !== null).reduce((a, b) => a + b, 0);
  const leftKiB = progress?.leftKiB ?? (running.length > 0 ? oos : (minor?.oosKiB ?? oos));
  // Paused: PausedSync*, events2's resync-suspended (user, peer, after dependency), /proc/drbd's a/p/u flags.
  const suspended = [...new Set(pds.map((p) => p.resyncSuspended).filter((x): x is string => x !== null && x !== 'no'))];
  const flags = minor?.ioFlags ?? '';
  const flagReasons = [flags[1] === 'a' ? 'dependency' : null, flags[2] === 'p' ? 'peer' : null, flags[3] === 'u' ? 'user' : null].filter((x): x is string => x !== null);
  const reasons = suspended.length > 0 ? suspended.flatMap((x) => x.split(',')) : flagReasons;
  const paused = /^PausedSync/.test(repl) || reasons.length > 0;
  const done = progress ? `${progress.percent.toFixed(1)}% done, ${kib(progress.leftKiB)} of ${kib(progress.totalKiB)} KiB left` : `${kib(leftKiB)} KiB left`;
  // Progress between the two looks: oos: is in KiB whatever the unit of (left/total), so take the finer.
  let moved: number | null = null;
  if (later) {
    if (!later.resync) moved = leftKiB;
    else {
      const byLeft = progress ? progress.leftKiB - later.resync.leftKiB : -Infinity;
      const byOos = minor?.oosKiB != null && later.oosKiB !== null ? minor.oosKiB - later.oosKiB : -Infinity;
      moved = Number.isFinite(Math.max(byLeft, byOos)) ? Math.max(byLeft, byOos) : null;
    }
  }
  const data: Record<string, unknown> = {
    replication: repl,
    peer,
    percent: progress?.percent ?? null,
    leftKiB,
    totalKiB: progress?.totalKiB ?? null,
    speedKiBps: progress?.speedKiBps ?? null,
    averageKiBps: progress?.averageKiBps ?? null,
    wantKiBps: progress?.wantKiBps ?? null,
    etaSeconds: progress?.finishSeconds ?? null,
    paused: paused ? reasons : false,
    ...(moved !== null ? { movedKiBInSample: moved, sampleSeconds: RESYNC_SAMPLE_SECONDS } : {}),
  };
  if (paused) {
    const byUser = reasons.includes('user');
    return {
      status: 'warning',
      found: `${name}: resync ${direction} paused (${reasons.join(', ') || 'paused'}) at ${done}`,
      fix: byUser
        ? `\`drbdadm resume-sync ${name}\` on the node that paused it`
        : reasons.includes('dependency') || reasons.includes('after')
          ? 'it waits for the resync of the resource named in resync-after; rerun verify when that one has finished'
          : `the peer paused it: \`drbdadm resume-sync ${name}\` there`,
      progress,
      data,
    };
  }
  const stalled = leftKiB > 0 && (progress?.stalled === true || (later !== null ? moved !== null && moved <= 0 : progress?.speedKiBps === 0));
  const why = progress?.stalled ? 'the kernel reports no progress for 180 s' : later ? `no block resynced in ${RESYNC_SAMPLE_SECONDS} s` : 'speed 0 K/sec';
  const speed = progress?.speedKiBps !== null && progress?.speedKiBps !== undefined ? `${kib(progress.speedKiBps)} KiB/s` : null;
  if (stalled) {
    return {
      status: 'error',
      found: `${name}: resync ${direction} stalled at ${done}: ${why}${speed && !progress?.stalled ? ` (the kernel's ~18 s average still says ${speed})` : ''}`,
      fix: `check the replication link (REPL_LINK) and the SyncTarget's backing disk (kernel log: I/O errors, a suspended device-mapper volume); \`drbdadm disconnect ${name}; drbdadm connect ${name}\` restarts the resync where it stopped`,
      progress,
      data: { ...data, stalled: true },
    };
  }
  const eta = progress?.finishSeconds !== null && progress?.finishSeconds !== undefined ? `, about ${clockDuration(progress.finishSeconds)} to go` : '';
  return {
    status: 'warning',
    found: `${name}: resync ${direction} ${done}${speed ? ` at ${speed}` : ''}${eta}`,
    fix: `the peer's copy is not complete until the resync ends: rerun verify then (\`cat /proc/drbd\` on ${nodeName} shows the progress)`,
    progress,
    data,
  };
}

export function drbdResourceChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  const all = reachable(input).map(nodeDrbd);
  const byNode = new Map(all.map((x) => [x.node.name, x]));

  for (const { node, configs, running, oosByMinor, procByMinor, procLaterByMinor, guests } of all) {
    if (!node.facts.drbd.ok || node.facts.drbd.value.loadedVersion === null) continue;
    const conf = probe(node, 'conf');
    if (conf && conf.exitCode !== 0) {
      out.push(result('DRBD_CONFIG', 'error', node.name, `could not read /etc/drbd.d: ${why(conf, 'cat')}`, { fix: 'check the files in /etc/drbd.d' }));
    }
    const mine = configs.filter((c) => c.hosts.some((h) => h.name === node.name));
    const names = [...new Set([...mine.map((c) => c.name), ...running.map((r) => r.name)])].sort();
    if (names.length === 0) {
      out.push(
        result('DRBD_CONFIG', 'warning', node.name, 'no DRBD resource is configured or running on this node', {
          fix: 'run `hvcluster apply`: it creates the replication probe resource hvc-probe',
        }),
      );
      continue;
    }
    for (const name of names) {
      const cfg = mine.find((c) => c.name === name);
      const live = running.find((r) => r.name === name);
      const holders = cfg ? cfg.hosts.map((h) => h.name) : [node.name, ...(live?.connections.map((c) => c.peer) ?? [])];
      const servers = [node.name, ...holders.filter((h) => h !== node.name)];
      const opts = { servers, subject: name };

      // Configuration: configured = running, and the same file on every reachable holder.
      const configProblems: string[] = [];
      if (!cfg) configProblems.push(`runs but is not in /etc/drbd.d (or not for ${node.name})`);
      if (!live) configProblems.push('is configured but not up');
      if (cfg?.allowTwoPrimaries === true && !guests.some((g) => g.jobType !== null && g.jobType !== 'None')) {
        configProblems.push('allows two primaries outside a migration (allow-two-primaries yes)');
      }
      if (cfg) {
        for (const peer of holders.filter((h) => h !== node.name)) {
          const other = byNode.get(peer)?.configs.find((c) => c.name === name);
          if (byNode.has(peer) && !other) configProblems.push(`is not configured on ${peer}`);
          else if (other && other.text !== cfg.text) configProblems.push(`${cfg.file} differs from ${peer}'s`);
        }
      }
      out.push(
        configProblems.length === 0
          ? result('DRBD_CONFIG', 'pass', node.name, `${name} configured (${cfg!.file}), up, same file on ${holders.join(', ')}`, opts)
          : result('DRBD_CONFIG', 'error', node.name, `${name} ${configProblems.join('; ')}`, {
              ...opts,
              fix: !live && cfg ? `run \`drbdadm up ${name}\` on ${node.name}` : 'copy the resource file from the node that holds the right one (or run `hvcluster apply`), then `drbdadm adjust RES`',
            }),
      );
      if (!live) continue;

      // Connection and replication, per peer.
      const peers = holders.filter((h) => h !== node.name);
      const connectionIssues: string[] = [];
      const states: string[] = [];
      for (const peer of peers) {
        const c = live.connections.find((x) => x.peer === peer) ?? (live.connections.length === 1 && peers.length === 1 ? live.connections[0] : undefined);
        if (!c) {
          connectionIssues.push(`no connection to ${peer} (StandAlone)`);
          states.push(`${peer}: none`);
          continue;
        }
        const repl = c.peerDevices.map((p) => p.replication ?? '?');
        states.push(`${peer}: ${c.connection}/${repl.join(',') || '-'}`);
        if (c.connection !== 'Connected') connectionIssues.push(`${c.connection ?? 'unknown'} to ${peer}`);
        else if (c.peerDevices.some((p) => p.replication !== 'Established' && !SYNCING.test(p.replication ?? ''))) {
          connectionIssues.push(`connected to ${peer} but replication ${repl.join(',')}`);
        }
      }
      if (live.suspended && live.suspended !== 'no') connectionIssues.push(`I/O suspended (${live.suspended}): guest I/O is frozen`);
      out.push(
        connectionIssues.length === 0
          ? result('DRBD_CONNECTED', 'pass', node.name, `${name} connected, replicating (${states.join('; ')})`, opts)
          : result('DRBD_CONNECTED', 'error', node.name, `${name}: ${connectionIssues.join('; ')}`, {
              ...opts,
              fix: `check the replication link, then \`drbdadm connect ${name}\` on the node that is StandAlone; after a split brain choose the survivor first (\`drbdadm connect --discard-my-data ${name}\` on the other)`,
              data: { states },
            }),
      );

      // Roles.
      const minors = live.devices.map((d) => d.minor).filter((m): m is number => m !== null);
      const usedBy = guests.filter((g) => g.disks.some((d) => minors.some((m) => d === `/dev/drbd${m}`) || d.includes(`/drbd/by-res/${name}`)));
      const peerPrimaries = live.connections.filter((c) => c.role === 'Primary').map((c) => c.peer);
      if (live.role === 'Primary' && peerPrimaries.length > 0) {
        const migrating = guests.some((g) => g.jobType !== null && g.jobType !== 'None' && usedBy.includes(g));
        out.push(
          result('DRBD_ROLES', migrating ? 'warning' : 'error', node.name, `${name} is Primary on ${node.name} and on ${peerPrimaries.join(', ')}${migrating ? ' (a migration of its guest is running)' : ' outside a migration'}`, {
            ...opts,
            fix: migrating ? 'rerun verify when the migration has finished' : `stop the guest on the node that must not run it, then \`drbdadm secondary ${name}\` there`,
          }),
        );
      } else if (live.role === 'Primary' && usedBy.length === 0) {
        out.push(
          result('DRBD_ROLES', 'warning', node.name, `${name} is Primary on ${node.name} but no running guest uses it`, {
            ...opts,
            fix: `\`drbdadm secondary ${name}\` on ${node.name} unless something else is meant to use the device`,
          }),
        );
      } else {
        const peerRoles = live.connections.map((c) => `${c.peer} ${c.role ?? 'Unknown'}`).join(', ');
        out.push(result('DRBD_ROLES', 'pass', node.name, `${name}: ${live.role ?? 'Unknown'} here${peerRoles ? `, ${peerRoles}` : ''}${usedBy.length ? ` (guest ${usedBy.map((g) => g.name).join(', ')})` : ''}`, opts));
      }

      // Disks.
      const local = live.devices.map((d) => d.disk ?? 'unknown');
      const peerDisks = live.connections.flatMap((c) => c.peerDevices.map((p) => ({ peer: c.peer, disk: p.peerDisk ?? 'DUnknown', repl: p.replication ?? '' })));
      const syncing = live.connections.some((c) => c.peerDevices.some((p) => SYNCING.test(p.replication ?? '')));
      const bad = [...local.filter((d) => d !== 'UpToDate').map((d) => `local ${d}`), ...peerDisks.filter((p) => p.disk !== 'UpToDate').map((p) => `${p.peer} ${p.disk}`)];
      const diskText = `local ${local.join(',')}; ${peerDisks.map((p) => `${p.peer} ${p.disk}`).join(', ') || 'no peer'}`;
      const resync = resyncState(name, node.name, live, minors, procByMinor, procLaterByMinor);
      if (bad.length === 0 && peerDisks.length > 0) out.push(result('DRBD_DISK', 'pass', node.name, `${name}: ${diskText}`, opts));
      else {
        const onlySync = syncing && bad.every((b) => /Inconsistent|UpToDate/.test(b));
        const progress = resync?.progress ? `resync ${resync.progress.percent.toFixed(1)}% done` : 'resync running';
        out.push(
          result('DRBD_DISK', onlySync ? 'warning' : 'error', node.name, `${name}: ${diskText}${onlySync ? ` (${progress}, see DRBD_RESYNC)` : ''}`, {
            ...opts,
            fix: onlySync ? 'wait for the resync to finish (`cat /proc/drbd`)' : 'reconnect the resource (DRBD_CONNECTED); a Diskless or Failed disk needs `drbdadm attach` after checking the backing volume',
          }),
        );
      }

      // Resync: progress while it runs, an error when it is stalled.
      if (!resync) out.push(result('DRBD_RESYNC', 'pass', node.name, `${name}: no resync running`, opts));
      else out.push(result('DRBD_RESYNC', resync.status, node.name, resync.found, { ...opts, fix: resync.fix, data: resync.data }));

      // Out of sync.
      const oos = live.connections.flatMap((c) => c.peerDevices.map((p) => p.outOfSyncKiB)).filter((x): x is number => x !== null);
      const fromProc = minors.map((m) => oosByMinor.get(m)).filter((x): x is number => x !== undefined);
      const values = oos.length > 0 ? oos : fromProc;
      const total = values.reduce((a, b) => a + b, 0);
      const connected = connectionIssues.length === 0;
      if (values.length === 0) out.push(result('DRBD_OUT_OF_SYNC', 'skipped', node.name, `${name}: no out-of-sync figure (no statistics)`, opts));
      else if (!connected && total > 0)
        out.push(
          result('DRBD_OUT_OF_SYNC', 'warning', node.name, `${name}: ${total} KiB to resync once connected`, {
            ...opts,
            data: { outOfSyncKiB: total },
            fix: 'reconnect the resource (see DRBD_CONNECTED); the resync starts by itself',
          }),
        );
      else if (resync && total > 0)
        out.push(
          result('DRBD_OUT_OF_SYNC', 'warning', node.name, `${name}: ${total} KiB out of sync, being resynced${resync.progress ? ` (${resync.progress.percent.toFixed(1)}% done)` : ''}`, {
            ...opts,
            data: { outOfSyncKiB: total },
            fix: 'a resync is running (see DRBD_RESYNC): rerun verify when it has finished',
          }),
        );
      else
        out.push(
          result('DRBD_OUT_OF_SYNC', total === 0 ? 'pass' : 'warning', node.name, `${name}: ${total} KiB out of sync`, {
            ...opts,
            data: { outOfSyncKiB: total },
            fix: syncing ? 'a resync is running: rerun verify when it has finished' : `blocks marked out of sync resync after \`drbdadm disconnect ${name}; drbdadm connect ${name}\``,
          }),
        );
    }
  }

  // global_common.conf: the same on every node.
  const commons = all
    .map((x) => ({ name: x.node.name, text: x.files.get('/etc/drbd.d/global_common.conf') }))
    .filter((x): x is { name: string; text: string } => x.text !== undefined);
  if (commons.length >= 2) {
    const servers = commons.map((c) => c.name);
    const same = commons.every((c) => c.text === commons[0]!.text);
    out.push(
      same
        ? result('DRBD_CONFIG', 'pass', CLUSTER, `/etc/drbd.d/global_common.conf is the same on ${servers.join(', ')}`, { servers, subject: 'global_common.conf' })
        : result('DRBD_CONFIG', 'error', CLUSTER, '/etc/drbd.d/global_common.conf differs between nodes', {
            servers,
            subject: 'global_common.conf',
            fix: 'run `hvcluster apply` to write the same common settings everywhere, then `drbdadm adjust all`',
          }),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Split brain: the resource's current state judges; the kernel log tells when and how.

/** What this boot's kernel log says about one resource's split brains (DRBD 8.4's messages, drbd_receiver.c). */
export interface SplitBrainHistory {
  /** When the last split brain was detected (unresolved: "dropping connection", or solved in the same handshake). */
  detectedAt: string | null;
  /** Detected and left unresolved: the connection was dropped (StandAlone). */
  unresolved: boolean;
  /** A resolution logged after the detection: which side's data was discarded, by hand or by an after-sb policy. */
  resolution: { at: string | null; discarded: 'here' | 'peer'; automatic: boolean } | null;
  /** The connection established again after the detection (`conn( ... -> Connected|WFBitMap*|Sync* )`). */
  connectedAt: string | null;
  /** The log lines about the last split brain, for the report. */
  lines: string[];
}

const UNRESOLVED = /Split-Brain detected but unresolved/i;
const SOLVED = /Split-Brain detected, (?:(\d+) primaries, )?(manually|automatically) solved\. Sync from (peer|this) node/i;
const CONNECTED = /conn\( \S+ -> (Connected|WFBitMapS|WFBitMapT|SyncSource|SyncTarget) \)/;

export function splitBrainHistory(lines: DrbdLogLine[]): SplitBrainHistory | null {
  let h: SplitBrainHistory | null = null;
  const text = (l: DrbdLogLine) => `${l.time ?? ''} ${l.message}`.trim();
  for (const l of lines) {
    if (UNRESOLVED.test(l.message)) {
      h = { detectedAt: l.time, unresolved: true, resolution: null, connectedAt: null, lines: [text(l)] };
      continue;
    }
    const solved = SOLVED.exec(l.message);
    if (solved) {
      if (!h || h.resolution) h = { detectedAt: l.time, unresolved: false, resolution: null, connectedAt: null, lines: [] };
      h.resolution = { at: l.time, discarded: solved[3]!.toLowerCase() === 'peer' ? 'here' : 'peer', automatic: solved[2]!.toLowerCase() === 'automatically' };
      h.lines.push(text(l));
      continue;
    }
    if (h && !h.connectedAt && CONNECTED.test(l.message)) {
      h.connectedAt = l.time;
      h.lines.push(text(l));
    }
  }
  return h;
}

const RECOVERY = (name: string) =>
  `choose the node whose data survives, then \`hvcluster drbd resolve ${name} --survivor NODE -f site.yaml\` (it keeps the other node's data as an LVM snapshot first); by hand: on the other node \`drbdadm secondary ${name}; drbdadm connect --discard-my-data ${name}\`, then \`drbdadm connect ${name}\` on the survivor (DRBD user guide, "Manual split brain recovery")`;

export function splitBrainChecks(input: VerifyInput): CheckResult[] {
  const out: CheckResult[] = [];
  for (const d of reachable(input).map(nodeDrbd)) {
    const { node, configs, running } = d;
    if (!node.facts.drbd.ok || node.facts.drbd.value.loadedVersion === null) continue;
    const sb = probe(node, 'splitbrain');
    if (!sb || sb.exitCode !== 0) {
      out.push(result('DRBD_SPLIT_BRAIN', 'skipped', node.name, `could not read the kernel log: ${why(sb, 'journalctl')}`));
      continue;
    }
    const log = parseDrbdKernelLog(sb.stdout);
    // Name each line's resource: device lines (`block drbdN:`) through the minor.
    const minorName = new Map<number, string>();
    for (const c of configs) if (c.minor !== null) minorName.set(c.minor, c.name);
    for (const r of running) for (const dev of r.devices) if (dev.minor !== null) minorName.set(dev.minor, r.name);
    const byResource = new Map<string, DrbdLogLine[]>();
    for (const l of log) {
      const name = l.resource ?? (l.minor !== null ? (minorName.get(l.minor) ?? `minor ${l.minor}`) : null);
      if (name === null) continue;
      byResource.set(name, [...(byResource.get(name) ?? []), l]);
    }
    const found = [...byResource.entries()].map(([name, lines]) => ({ name, h: splitBrainHistory(lines) })).filter((x): x is { name: string; h: SplitBrainHistory } => x.h !== null);
    if (found.length === 0) {
      out.push(result('DRBD_SPLIT_BRAIN', 'pass', node.name, "no split brain in this boot's kernel log"));
      continue;
    }
    for (const { name, h } of found.sort((a, b) => a.name.localeCompare(b.name))) {
      const cfg = configs.find((c) => c.name === name);
      const peers = cfg ? cfg.hosts.map((x) => x.name).filter((x) => x !== node.name) : [];
      const peer = peers.length === 1 ? peers[0]! : 'the peer';
      const servers = [node.name, ...peers];
      const live = running.find((r) => r.name === name);
      const conns = live?.connections ?? [];
      const replicating = conns.length > 0 && conns.every((c) => c.connection === 'Connected' && c.peerDevices.every((p) => p.replication === 'Established' || SYNCING.test(p.replication ?? '')));
      const state = !live
        ? 'not running'
        : conns.length === 0
          ? 'StandAlone'
          : conns.map((c) => `${c.connection === 'Connecting' ? 'WFConnection (Connecting)' : (c.connection ?? 'unknown')}${c.connection === 'Connected' ? `/${c.peerDevices.map((p) => p.replication ?? '?').join(',')}` : ''}`).join(', ');
      const disks = live ? `${live.devices.map((x) => x.disk ?? '?').join(',')}/${conns.flatMap((c) => c.peerDevices.map((p) => p.peerDisk ?? 'DUnknown')).join(',') || 'DUnknown'}` : null;
      const when = `split brain detected at ${h.detectedAt ?? 'an unknown time'}`;
      const data = { detectedAt: h.detectedAt, resolution: h.resolution, connectedAt: h.connectedAt, state, disks, lines: h.lines };
      if (replicating) {
        const how = h.resolution
          ? h.resolution.discarded === 'here'
            ? `${node.name} discarded its data and resynced from ${peer}`
            : `${peer} discarded its data and resynced from ${node.name}`
          : 'reconnected (the log names no discarded side)';
        const by = h.resolution ? (h.resolution.automatic ? ' by the after-sb policy' : ' (manual recovery: connect --discard-my-data)') : '';
        const at = h.resolution?.at ?? h.connectedAt;
        out.push(
          result('DRBD_SPLIT_BRAIN', 'warning', node.name, `${name}: ${when}, resolved${at ? ` at ${at}` : ''}: ${how}${by}; now ${state}, ${disks}`, {
            servers,
            subject: name,
            fix: `nothing to recover: the resource is connected again. Make sure the writes discarded ${h.resolution?.discarded === 'here' ? `on ${node.name}` : h.resolution ? `on ${peer}` : 'on the side that lost'} were not needed; this warning is read from this boot's kernel log and stays until the next reboot`,
            data,
          }),
        );
        continue;
      }
      // Not connected now. The split brain is current unless it was resolved (or connected) since.
      const since = h.resolution ? `, resolved at ${h.resolution.at ?? '?'}, but` : '';
      const connectedSince = !h.resolution && h.connectedAt !== null;
      if (h.resolution || connectedSince) {
        out.push(
          result('DRBD_SPLIT_BRAIN', 'warning', node.name, `${name}: ${when}${since || `, connected again at ${h.connectedAt}, but`} now ${state} (see DRBD_CONNECTED)`, {
            servers,
            subject: name,
            fix: `the split brain was resolved; reconnect the resource (\`drbdadm connect ${name}\`) and rerun verify`,
            data,
          }),
        );
        continue;
      }
      const waiting = conns.some((c) => c.connection === 'Connecting');
      out.push(
        result(
          'DRBD_SPLIT_BRAIN',
          'error',
          node.name,
          `${name}: ${when} and not resolved: ${waiting ? `${node.name} waits for ${peer} (WFConnection), which refuses the connection until one side discards its data` : `${state}, no connection since`}${disks ? ` (disks ${disks})` : ''}`,
          { servers, subject: name, fix: RECOVERY(name), data },
        ),
      );
    }
  }
  return out;
}
