/**
 * A ready answer file for a lab: hvcluster pointed at the lab's nodes like at a customer's servers,
 * with their host keys pinned and packages taken from the VMs' own offline cache.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabInfo, LabNode } from './lab.js';

export interface LabSiteOptions {
  /** Cluster name (default: lab-NAME). */
  cluster?: string;
  replicationMtu?: number;
  /**
   * HA: each node's simulated BMC as its bmc:, and ha: with the lab's witness (when the lab has one,
   * `up --witness`), the emulated timing and TLS on.
   */
  ha?: boolean;
}

export function labSiteYaml(lab: LabInfo, options: LabSiteOptions = {}): string {
  const nodes = lab.nodes
    .map(
      (node) => `    - name: ${node.name}
      ssh:
        address: ${node.management.address}
        port: ${node.sshPort}
        user: ${node.user}
        identityFile: ${node.key}
        agent: false
        hostKey: "${node.hostKeyFingerprint}"
      management:
        interface: ${node.management.nic}
        address: ${node.management.address}/${node.management.prefix}
      replication:
        interface: ${node.replication.nic}
        address: ${node.replication.address}/${node.replication.prefix}
      storage:
        disk: ${node.dataDisk}
        wipe: false${options.ha ? labBmcYaml(node) : ''}`,
    )
    .join('\n');
  return `# hvcluster answer file for the VM lab "${lab.name}" (written by \`npm run lab -- up\`).
# Run hvcluster inside the lab's network namespace:
#   npm run lab -- exec --name ${lab.name} -- node bin/hvcluster.js plan -f ${join(lab.dir, 'site.yaml')}
apiVersion: hvcluster/v1
kind: Cluster
metadata:
  name: ${options.cluster ?? `lab-${lab.name}`}
spec:
  nodes:
${nodes}
  time:
    # The lab host serves its clock over NTP inside the namespace (test/lab/ntp.ts).
    servers: [${lab.hostAddress}]
  network:
    bridge: br0
    replicationMtu: ${options.replicationMtu ?? 1500}
  packages:
    # The lab's VMs have no network: their images carry every package in apt's cache.
    source: offline
    offline:
      path: /var/cache/apt/archives
${options.ha ? labHaYaml(lab) : ''}`;
}

/** The node's simulated BMC (ipmi_sim on the lab host); its password stays in the lab's file. */
function labBmcYaml(node: LabNode): string {
  const bmc = node.bmc;
  return `
      bmc:
        type: ${bmc.type}
        address: ${bmc.address}
        port: ${bmc.port}
        user: ${bmc.user}
        passwordFrom: { file: ${bmc.passwordFile} }
        # ipmi_sim offers cipher suite 3 at most (real BMCs: 17).
        cipher: ${bmc.cipher}
        lanplus: ${bmc.lanplus}`;
}

function labHaYaml(lab: LabInfo): string {
  const witness = lab.witness;
  const witnessYaml = witness
    ? `
    witness:
      address: ${witness.management.address}
      port: ${witness.sshPort}
      user: ${witness.user}
      identityFile: ${witness.key}
      agent: false
      hostKey: "${witness.hostKeyFingerprint}"
      qnetdPort: ${witness.qnetd.port}`
    : '';
  return `  ha:
    enabled: true${witnessYaml}
    # The VMs are emulated (TCG): detection timeouts raised, behaviour unchanged.
    timing: emulated
    tls: "on"
`;
}

export function writeLabSite(lab: LabInfo, options: LabSiteOptions = {}): string {
  const path = join(lab.dir, 'site.yaml');
  writeFileSync(path, labSiteYaml(lab, options));
  return path;
}
