/**
 * The values the templates are rendered from: one RenderModel per node, computed by the planner
 * from the answer file and the servers' facts. Templates see nothing else, so everything a config
 * file needs is spelled out here.
 */

export type DrbdMajor = '8.4' | '9';

export interface Ipv4Cidr {
  /** `198.19.1.11` */
  address: string;
  /** `24` */
  prefix: number;
  /** `198.19.1.11/24` */
  cidr: string;
  /** `255.255.255.0` */
  netmask: string;
}

export interface ClusterNodeModel {
  name: string;
  /** 0-based, stable: the node's position in the answer file. DRBD 9's node-id. */
  nodeId: number;
  management: Ipv4Cidr;
  replication: Ipv4Cidr;
  /** `hv1-repl`: the node's name on the replication network (/etc/hosts). */
  replicationName: string;
}

export interface BondModel {
  name: string;
  slaves: string[];
  /** ifupdown `bond-mode`, e.g. `active-backup`, `802.3ad`. */
  mode: string;
}

export interface NetworkModel {
  /** The bridge guests attach to; it takes over the management address. */
  bridge: string;
  /** The NIC (or the bond below) enslaved to the bridge. */
  managementInterface: string;
  /**
   * The management NIC's MAC address (a bond's: its first NIC's), given to the bridge so the node
   * keeps its MAC on the network. Left to itself, systemd gives a bridge a MAC derived from the
   * machine-id: servers cloned from one image would all get the same one.
   */
  managementMac: string;
  bond?: BondModel;
  management: Ipv4Cidr;
  gateway?: string;
  dns: string[];
  /** The dedicated replication NIC. */
  replicationInterface: string;
  replication: Ipv4Cidr;
  replicationMtu: number;
}

export interface DrbdCommonModel {
  major: DrbdMajor;
  /** `A`, `B` or `C`. */
  protocol: 'A' | 'B' | 'C';
  /** Resync rate, e.g. `100M`. */
  resyncRate: string;
  /** The cluster's replication secret (cram-hmac-alg); never logged or shown (see drbd-secret.ts). */
  sharedSecret: string;
  /** This node's DRBD resources that hvcluster brings up at boot (the replication probes; guests' are Pacemaker's). */
  bootResources: string[];
}

/** One replicated volume: an LV of the same size on each node that holds it, with DRBD on top. */
export interface DrbdResourceModel {
  name: string;
  major: DrbdMajor;
  minor: number;
  port: number;
  /** `/dev/drbd10` */
  device: string;
  /** The backing LV, e.g. `/dev/hvdata/vm-test`. */
  disk: string;
  /** The nodes holding this resource (2 on 8.4; 2 or 3 on DRBD 9), with their replication addresses. */
  hosts: { name: string; nodeId: number; address: string }[];
  /** Open for a migration window only; rendered `no` otherwise. */
  allowTwoPrimaries: boolean;
}

/** The cluster manager (Pacemaker + Corosync) of an HA cluster. */
export interface HaModel {
  timing: import('./ha.js').HaTiming;
  /** Corosync's members: nodeid = position + 1, link 0 on the replication network, link 1 on management. */
  members: { name: string; id: number; ring0: string; ring1: string }[];
  /** Two nodes: the witness's corosync-qnetd. */
  witness?: { address: string; port: number; tls: 'on' | 'off' };
  /** /etc/corosync/authkey's content; never logged or shown. */
  corosyncKey: string;
  /** The watchdog fencing level (spec.ha.watchdog): /etc/default/sbd. */
  watchdog?: import('./ha.js').WatchdogPlan;
}

/** A node's backups (spec.backup): the repository, how it is reached, the timer. */
export interface BackupModel {
  /** spec.backup.repository.path: the storage every node shares (with nfs, where it is mounted). */
  path: string;
  /** The cluster's directory in it (backup/layout.ts), and its borg repository. */
  root: string;
  repo: string;
  encryption: 'repokey-blake2' | 'none';
  /** The repository's passphrase, with encryption only; never logged or shown. */
  passphrase?: string;
  /** The NFS export apply mounts at `path`: `server:/export`, the mount options (with _netdev,nofail), the units' names. */
  nfs?: { what: string; options: string; mount: string; automount: string };
  /** systemd OnCalendar= of the node's timer; absent: no timer. */
  schedule?: string;
  /** What the timer's service runs: the installed backup-node.sh, and the configuration it reads. */
  script: string;
  conf: string;
}

export interface RenderModel {
  cluster: { name: string };
  /** This node. */
  node: ClusterNodeModel;
  /** All nodes, this one included, in answer-file order. */
  nodes: ClusterNodeModel[];
  /** The other nodes. */
  peers: ClusterNodeModel[];
  network: NetworkModel;
  drbd: DrbdCommonModel;
  storage: { volumeGroup: string; /** The data disk, by its stable path. */ disk: string };
  time: { servers: string[] };
  hypervisor: { /** Migration data goes to this address of the node (its replication address). */ migrationAddress: string };
  /** Only for an HA cluster. */
  ha?: HaModel;
  /** Only with spec.backup. */
  backup?: BackupModel;
}
