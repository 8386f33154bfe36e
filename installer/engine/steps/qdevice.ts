/**
 * The third vote of a two-node cluster: corosync-qnetd on the witness, and (tls: on) the
 * certificates between it and the nodes' corosync-qdevice, as crmsh and pcs make them: the
 * witness's CA signs one client certificate for the cluster, requested by the first node and
 * imported by the others. Planned from what the witness and the nodes hold: a second apply finds
 * every node trusting the witness's CA with the cluster's certificate and changes nothing.
 */
import type { Change, UploadAction } from '../change.js';
import type { Host } from '../host.js';
import { parseQnetdState, type QdeviceState, type QnetdState } from '../ha/state.js';
import { aptInstall } from './packages.js';
import { readValue, StepRefusedError, type NodeInput, type StepKind, type StepPlan } from './step.js';

interface QdevicePlan extends StepPlan {
  witness: Change[];
  /** The certificate exchange, when a node lacks the cluster's certificate from the witness's CA. */
  enroll?: { request: Change; sign: Change; importSigned: Change; others: Change[] };
}

const TMP = '/run/hvcluster-qdevice';
const tmpUpload = (path: string): UploadAction => ({ upload: path, content: '', mode: 0o600, owner: 'root:root' });

/** Whether a node trusts the witness's CA and holds the cluster's client certificate. Pure. */
export function enrolled(node: QdeviceState, witnessCa: string | null): boolean {
  return witnessCa !== null && node.ca === witnessCa && node.client;
}

export const qdeviceStep: StepKind<QdevicePlan> = {
  scope: 'cluster',
  reads: ['qdevice'],
  witnessReads: ['qnetd'],
  plan(input) {
    const witness = input.plan.ha?.witness;
    if (!witness) return { changes: [], witness: [] };
    if (!input.witness) throw new StepRefusedError(input.self.node.name, input.step.name, 'the run has no connection to the witness', 'Give spec.ha.witness an address hvcluster reaches over SSH.');
    const w = input.witness;
    const cluster = input.answers.metadata.name;
    const change = (description: string, actions: Change['actions']): Change => ({ server: w.name, step: input.step.name, description, actions });
    const qnetd = readValue(input, { node: { name: w.name }, state: w.state } as NodeInput, 'qnetd');
    const tls = witness.tls === 'on';
    const witnessChanges = [
      ...(qnetd.installed ? [] : [change('install corosync-qnetd', [aptInstall(['corosync-qnetd'], input.answers.spec.packages)])]),
      ...(tls && qnetd.ca === null ? [change("create the witness's certificate authority", [{ script: 'qdevice-tls.sh', args: ['witness-init'] }])] : []),
      ...(qnetd.enabled && qnetd.active ? [] : [change('enable and start corosync-qnetd', [{ argv: ['systemctl', 'enable', '--now', 'corosync-qnetd'] }])]),
    ];
    const nodes = input.nodes.map((n) => ({ n, state: readValue(input, n, 'qdevice') }));
    const needed = tls && (qnetd.ca === null || nodes.some(({ state }) => !enrolled(state, qnetd.ca)));
    if (!needed) return { changes: witnessChanges, witness: witnessChanges };
    const [first, ...rest] = input.nodes;
    const onNode = (n: NodeInput, description: string, actions: Change['actions']): Change => ({ server: n.node.name, step: input.step.name, description, actions });
    const enroll = {
      request: onNode(first!, "trust the witness's CA and request the cluster's qdevice certificate", [tmpUpload(`${TMP}-ca.b64`), { script: 'qdevice-tls.sh', args: ['node-request', `${TMP}-ca.b64`, cluster] }]),
      sign: change(`sign the qdevice certificate of cluster ${cluster}`, [tmpUpload(`${TMP}-request.b64`), { script: 'qdevice-tls.sh', args: ['witness-sign', cluster, `${TMP}-request.b64`] }]),
      importSigned: onNode(first!, "import the cluster's signed qdevice certificate", [tmpUpload(`${TMP}-cert.b64`), { script: 'qdevice-tls.sh', args: ['node-import-signed', `${TMP}-cert.b64`] }, { argv: ['systemctl', 'try-restart', 'corosync-qdevice'] }]),
      others: rest.map((n) =>
        onNode(n, "trust the witness's CA and import the cluster's qdevice certificate", [
          tmpUpload(`${TMP}-ca.b64`),
          tmpUpload(`${TMP}-node.p12.b64`),
          { script: 'qdevice-tls.sh', args: ['node-import', `${TMP}-ca.b64`, `${TMP}-node.p12.b64`] },
          { argv: ['systemctl', 'try-restart', 'corosync-qdevice'] },
        ]),
      ),
    };
    return { changes: [...witnessChanges, enroll.request, enroll.sign, enroll.importSigned, ...enroll.others], witness: witnessChanges, enroll };
  },
  async perform(hosts, plan, input) {
    const w = input.witness;
    if (!w) return;
    const witness = hosts.get(w.name)!;
    for (const change of plan.witness) await witness.perform(change);
    if (!plan.enroll || witness.dryRun) {
      for (const change of plan.enroll ? [plan.enroll.request, plan.enroll.sign, plan.enroll.importSigned, ...plan.enroll.others] : []) await witness.perform(change);
      return;
    }
    const cluster = input.answers.metadata.name;
    const ca = await witnessCa(witness, cluster, plan.witness.length > 0 ? null : (input.witness!.state.qnetd?.ok ? input.witness!.state.qnetd.value : null));
    const e = plan.enroll;
    const first = hosts.get(e.request.server)!;
    const request = await exchange(first, e.request, [ca]);
    const cert = await exchange(witness, e.sign, [request]);
    const p12 = await exchange(first, e.importSigned, [cert]);
    await Promise.all(e.others.map((change) => exchange(hosts.get(change.server)!, change, [ca, p12])));
  },
};

/** The witness's CA certificate: as read, unless a change on the witness came after the read. */
async function witnessCa(witness: Host, cluster: string, read: QnetdState | null): Promise<string> {
  const state = read ?? parseQnetdState((await witness.read({ script: 'qnetd-state.sh', args: [cluster] })).stdout);
  if (!state.ca) throw new Error(`${witness.server}: corosync-qnetd has no certificate authority (/etc/corosync/qnetd/nssdb)`);
  return state.ca;
}

/**
 * One change of the exchange: its uploads get `contents` in order (base64 text), its script's
 * output (base64 on one line) is what the next one needs. The output is a certificate or a key
 * bundle: kept out of the log.
 */
async function exchange(host: Host, change: Change, contents: string[]): Promise<string> {
  let next = 0;
  let output = '';
  await host.procedure(change, async (io) => {
    for (const action of change.actions) {
      if ('upload' in action) await io.perform({ ...action, content: `${contents[next++]}\n` });
      else {
        const result = await io.run(action, { secretOutput: true });
        if ('script' in action) output = result.stdout.trim();
      }
    }
  });
  return output;
}

export type { QdevicePlan };
export const _forTests = { TMP };
