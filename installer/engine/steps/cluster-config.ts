/**
 * Pacemaker's configuration that hvcluster owns: the cluster properties of the timing profile,
 * one fence_ipmilan device per node, placed off the node it fences. Compared with the live CIB
 * (cib-state.sh, read from the first node whose Pacemaker answers) object by object; only what
 * differs is written, with `cibadmin --modify --allow-create`: a second apply changes nothing and
 * what an operator added is left alone. A device's XML holds the BMC password: it is uploaded to a
 * file readable by root only, given to cibadmin, and removed.
 */
import type { Change } from '../change.js';
import { cibObjects, deviceMatches, fenceDeviceXml, fencingTopologyXml, locationXml, type CibObjects, type FenceDevice } from '../ha/cib.js';
import type { FencePlan, HaPlan } from '../../plan/ha.js';
import { changeOf, readValue, StepRefusedError, type StepKind } from './step.js';

/** The fence device of a node as the CIB holds it. Pure. */
export function fenceDevice(fence: FencePlan, ha: HaPlan): FenceDevice {
  const b = fence.bmc;
  return {
    id: fence.id,
    agent: 'fence_ipmilan',
    params: {
      ip: b.address,
      ipport: String(b.port),
      username: b.user,
      password: fence.password,
      lanplus: b.lanplus ? '1' : '0',
      ...(b.lanplus ? { cipher: String(b.cipher) } : {}),
      pcmk_host_list: fence.node,
    },
    monitor: `${ha.timing.fenceMonitorS}s`,
    monitorTimeout: `${ha.timing.fenceMonitorTimeoutS}s`,
    // A device that failed (its BMC did not answer) is tried again after this, by itself: a node
    // left UNCLEAN is fenced as soon as its BMC answers, without an operator's clean-up.
    meta: { 'failure-timeout': `${ha.timing.fenceMonitorS}s` },
  };
}

export const avoidOwnNode = (fence: FencePlan) => ({ id: `${fence.id}-avoids-${fence.node}`, location: { rsc: fence.id, node: fence.node, score: '-INFINITY' } });

/** How long a fence device apply wrote may take to be Started (its first monitor is a BMC status query, slow on the emulated lab). */
export const FENCE_START_S = 180;

const EMPTY: CibObjects = { properties: {}, fenceDevices: {}, locations: {}, fencingLevels: {} };

export const clusterConfigStep: StepKind = {
  scope: 'cluster',
  reads: ['cib'],
  plan(input) {
    const ha = input.plan.ha;
    if (!ha) return { changes: [] };
    const states = input.nodes.map((n) => ({ n, cib: readValue(input, n, 'cib') }));
    const live = states.find((s) => s.cib.state === 'active');
    if (!live && !input.stale) {
      const why = states.map((s) => `${s.n.node.name}: ${s.cib.state === 'inactive' ? 'Pacemaker is not running' : 'no controller elected'}`).join(', ');
      throw new StepRefusedError(input.self.node.name, input.step.name, `cannot configure Pacemaker (${why})`, 'Look at `journalctl -u corosync -u pacemaker` on the nodes and `corosync-quorumtool -s`; then run apply again.');
    }
    const on = live?.n ?? input.self;
    const current = live && live.cib.state === 'active' ? cibObjects(live.cib.xml) : EMPTY;
    const changes: Change[] = [];

    const properties = Object.entries(ha.properties).filter(([name, value]) => current.properties[name] !== value);
    if (properties.length > 0) {
      changes.push(
        changeOf(
          input,
          on,
          `set cluster properties ${properties.map(([n, v]) => `${n}=${v}`).join(' ')}`,
          properties.map(([name, value]) => ({ argv: ['crm_attribute', '--type', 'crm_config', '--name', name, '--update', value] })),
        ),
      );
    }
    const written: string[] = [];
    for (const fence of ha.fence) {
      const device = fenceDevice(fence, ha);
      if (!deviceMatches(current.fenceDevices[device.id], device)) {
        written.push(device.id);
        const file = `/run/hvcluster-${device.id}.xml`;
        changes.push(
          changeOf(input, on, `fence device ${device.id}: fence_ipmilan through ${fence.node}'s BMC ${fence.bmc.address}`, [
            { upload: file, content: fenceDeviceXml(device), mode: 0o600, owner: 'root:root' },
            { argv: ['cibadmin', '--modify', '--allow-create', '--scope', 'resources', '--xml-file', file] },
            { argv: ['rm', '-f', file] },
          ]),
        );
      }
      const avoid = avoidOwnNode(fence);
      const have = current.locations[avoid.id];
      if (!have || have.rsc !== avoid.location.rsc || have.node !== avoid.location.node || have.score !== avoid.location.score) {
        changes.push(changeOf(input, on, `keep ${fence.id} off ${fence.node} (a node never fences itself)`, [{ argv: ['cibadmin', '--modify', '--allow-create', '--scope', 'constraints', '--xml-text', locationXml(avoid.id, avoid.location)] }]));
      }
    }
    // A watchdog level (the sbd step made sbd run on every node first): each node's BMC, then its watchdog.
    const levels = (ha.watchdog?.levels ?? []).filter((l) => {
      const have = current.fencingLevels[l.id];
      return !have || have.target !== l.target || have.index !== l.index || have.devices !== l.devices;
    });
    if (levels.length > 0) {
      changes.push(
        changeOf(input, on, `fencing topology: ${levels.map((l) => `${l.target} level ${l.index} ${l.devices}`).join(', ')}`, [
          { argv: ['cibadmin', '--modify', '--allow-create', '--scope', 'configuration', '--xml-text', fencingTopologyXml(levels)] },
        ]),
      );
    }
    // Apply ends with every node fenceable: the devices it wrote running, not still starting (or
    // failed to start), once their placement constraints are in.
    if (written.length > 0) {
      changes.push(
        changeOf(
          input,
          on,
          `wait until Pacemaker runs ${written.join(', ')} (at most ${FENCE_START_S} s each)`,
          written.map((id) => ({ script: 'resource-started.sh', args: [id, String(FENCE_START_S)], timeoutMs: (FENCE_START_S + 60) * 1000 })),
        ),
      );
    }
    return { changes };
  },
};
