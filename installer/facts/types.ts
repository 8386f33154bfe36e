/**
 * What `hvcluster inspect` knows about one server, read in one round trip (see gather.ts).
 *
 * Every group is a `Fact<T>`: either `{ ok: true, value }` or `{ ok: false, reason }` when the
 * command behind it is missing or failed. A missing `lsblk` must never look like "no disks", so
 * consumers have to look at `ok` before they use a value (`factValue()` does it for them).
 */

export type Fact<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The value of a fact, or null when it could not be read. */
export function factValue<T>(fact: Fact<T>): T | null {
  return fact.ok ? fact.value : null;
}

export interface ClockFacts {
  /** `date +%s.%N` on the server when the script started. */
  epochSeconds: number;
}

export interface HostnameFacts {
  /** `uname -n`: the name DRBD matches its `on` sections against. */
  nodeName: string;
  /** `hostname -f`, null when it failed (often: the name does not resolve). */
  fqdn: string | null;
  /** Why `hostname -f` failed, when it did. */
  fqdnError: string | null;
}

export interface HostsEntry {
  address: string;
  names: string[];
}

export interface HostsFacts {
  /** The non-comment lines of /etc/hosts. */
  entries: HostsEntry[];
  /** Debian's `127.0.1.1 HOSTNAME` line, if present (it makes cluster software bind to loopback). */
  loopbackHostLine: HostsEntry | null;
}

export interface OsFacts {
  /** `ID`: debian, ubuntu. */
  id: string;
  /** `VERSION_ID`: 12, 24.04 (null on testing/sid). */
  versionId: string | null;
  prettyName: string | null;
  /** `VERSION_CODENAME`: bookworm, noble. */
  codename: string | null;
  idLike: string[];
}

export interface KernelFacts {
  /** `uname -r`. */
  release: string;
  /** `uname -m`: x86_64, aarch64. */
  architecture: string;
}

export interface CpuFacts {
  vendor: string | null;
  model: string | null;
  sockets: number | null;
  /** Physical cores (distinct physical id/core id pairs), null when /proc/cpuinfo does not say. */
  cores: number | null;
  /** Logical CPUs. */
  threads: number;
  /** All flags of the first CPU (for CPU compatibility between nodes). */
  flags: string[];
}

export interface MemoryFacts {
  totalBytes: number;
  availableBytes: number | null;
  swapTotalBytes: number | null;
}

export interface VirtualizationFacts {
  /** The hardware virtualization flag the CPU shows (absent when disabled in the firmware). */
  cpuFlag: 'vmx' | 'svm' | null;
  /** /dev/kvm exists as a character device. */
  kvmDevice: boolean;
  /** kvm modules loaded (kvm, kvm_intel, kvm_amd). */
  kvmModules: string[];
}

export interface DiskSignature {
  /** What wipefs found: gpt, dos, ext4, xfs, LVM2_member, linux_raid_member, swap... */
  type: string;
  offset: string;
  usage: string | null;
  uuid: string | null;
  label: string | null;
}

/** A block device below a disk: a partition, an LVM volume, a DRBD device... */
export interface BlockChild {
  name: string;
  path: string;
  /** lsblk's TYPE: part, lvm, crypt, raid1, drbd... */
  type: string;
  sizeBytes: number;
  fstype: string | null;
  mountpoints: string[];
  children: BlockChild[];
}

export interface DiskVerdict {
  /** No partition table, filesystem, signature, holder or mount, and the first and last MiB read as zero. */
  blank: boolean;
  /** Why it is not blank (empty when blank). */
  reasons: string[];
}

export interface Disk {
  /** Kernel name: sda, nvme0n1, vdb. */
  name: string;
  /** /dev/sda. */
  path: string;
  /** lsblk's TYPE: disk, loop. */
  type: string;
  sizeBytes: number;
  /** True for spinning disks; null when unknown. */
  rotational: boolean | null;
  removable: boolean;
  readOnly: boolean;
  model: string | null;
  serial: string | null;
  wwn: string | null;
  /** sata, sas, nvme, usb... */
  transport: string | null;
  /** Full /dev/disk/by-id/... paths that point at this disk, stable names first (wwn-, nvme-eui. last). */
  byIdPaths: string[];
  /** gpt, dos, or null. */
  partitionTable: string | null;
  /** Filesystem or other signature type on the whole disk as lsblk reports it. */
  fstype: string | null;
  /** Signatures on the whole disk from `wipefs --no-act`; null when wipefs could not run. */
  signatures: DiskSignature[] | null;
  mountpoints: string[];
  /** Partitions and other devices stacked on the disk (lsblk's children). */
  children: BlockChild[];
  /** Kernel names in /sys/block/NAME/holders (device-mapper, DRBD, md). */
  holders: string[];
  /** First MiB is all zero: true/false, null when not read (the disk is in use anyway) or unreadable. */
  headZero: boolean | null;
  tailZero: boolean | null;
  verdict: DiskVerdict;
}

export type NicKind = 'physical' | 'bridge' | 'bond' | 'vlan' | 'loopback' | 'virtual';

export interface NicAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixLength: number;
  scope: string | null;
  /** e.g. `198.18.0.11/24`. */
  cidr: string;
}

export interface Nic {
  name: string;
  ifindex: number;
  kind: NicKind;
  /** The link kind ip reports (bridge, bond, vlan, veth, tun, dummy...), null for plain devices. */
  linkKind: string | null;
  /** operstate: UP, DOWN, UNKNOWN, LOWERLAYERDOWN. */
  state: string;
  /** Administratively up (the UP flag). */
  adminUp: boolean;
  /** /sys/class/net/NAME/carrier; null when unreadable (interface down). */
  carrier: boolean | null;
  /** /sys/class/net/NAME/speed; null when unknown (-1, unreadable, virtual NICs). */
  speedMbps: number | null;
  mtu: number;
  /** The largest MTU the driver accepts (`ip -d link`: maxmtu); null when it does not say. */
  maxMtu: number | null;
  mac: string | null;
  /** The kernel driver of a physical NIC (e1000e, ixgbe, virtio_net). */
  driver: string | null;
  /** The bridge or bond this NIC is enslaved to. */
  master: string | null;
  masterKind: 'bridge' | 'bond' | string | null;
  /** For a VLAN: its id and the parent link. */
  vlan: { id: number; parent: string | null } | null;
  addresses: NicAddress[];
}

export interface DefaultRoute {
  family: 'inet' | 'inet6';
  gateway: string | null;
  dev: string | null;
  metric: number | null;
  protocol: string | null;
}

export interface NetworkFacts {
  nics: Nic[];
  defaultRoutes: DefaultRoute[];
}

export interface ChronyTracking {
  referenceId: string | null;
  stratum: number | null;
  /** System time minus true time, seconds (chrony says "slow"/"fast"; fast is positive). */
  offsetSeconds: number | null;
  leapStatus: string | null;
}

export interface TimeSyncFacts {
  /** timedatectl's NTP (a sync service is enabled), else whether a known sync service is active; null when unknown. */
  ntpEnabled: boolean | null;
  /**
   * timedatectl's NTPSynchronized; without timedatectl, chrony's leap status "Normal" or timesyncd's
   * /run/systemd/timesync/synchronized; null when nothing tells.
   */
  synchronized: boolean | null;
  timezone: string | null;
  /** The first active time sync service (chrony.service, systemd-timesyncd.service...), null when none is. */
  activeService: string | null;
  /** `systemctl is-active` of each known time sync service (empty when systemctl could not answer). */
  services: { name: string; state: string }[];
  /** `chronyc tracking`, when chronyd runs. */
  chrony: ChronyTracking | null;
  /** Why a source could not be read (timedatectl without systemd, chronyd not running...). */
  notes: string[];
}

export interface PackageFacts {
  name: string;
  installed: boolean;
  /** Installed version, null when not installed. */
  version: string | null;
  /** dpkg's status abbreviation: ii, rc, un; null when dpkg does not know the package. */
  status: string | null;
}

export interface DrbdResourceFacts {
  name: string;
  role: string | null;
  volumes: { volume: number; minor: number | null; diskState: string | null }[];
  connections: { peer: string | null; connectionState: string | null; peerRole: string | null; peerDiskStates: string[] }[];
}

/** One line of /proc/drbd under DRBD 8.4: ` 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----`. */
export interface DrbdMinorFacts {
  minor: number;
  connectionState: string | null;
  roles: string | null;
  diskStates: string | null;
}

/** Whether `modprobe drbd` can load the module. */
export interface DrbdModuleLoad {
  /**
   * loaded: in the kernel already; loadable: modprobe would insmod it (or run an install command that
   * loads it); disabled: an `install drbd CMD` rule runs a command that does not load it (/bin/false);
   * missing: the running kernel has no drbd module; error: modprobe failed otherwise.
   */
  state: 'loaded' | 'loadable' | 'disabled' | 'missing' | 'error';
  /** What modprobe -n -v said: `install /bin/false`, `insmod /lib/modules/.../drbd.ko`, its error. */
  detail: string | null;
  /** install/blacklist lines naming drbd in modprobe.d, with file and line. */
  rules: { file: string; line: number; text: string }[];
}

export interface DrbdFacts {
  /** What `modprobe drbd` would do (modprobe -n -v); null when modprobe could not tell. */
  moduleLoad: DrbdModuleLoad | null;
  /** Kernel releases under /lib/modules that ship a drbd.ko (to say which kernel to boot); null when not read. */
  kernelsWithModule: string[] | null;
  /** `modinfo drbd` version: what `modprobe drbd` would load (8.4.11 in Debian's kernel). */
  moduleVersion: string | null;
  moduleFile: string | null;
  /** Why modinfo gave nothing. */
  moduleError: string | null;
  /** First line of /proc/drbd: the loaded module's version; null when not loaded. */
  loadedVersion: string | null;
  /** `drbdadm --version` DRBDADM_VERSION (drbd-utils), null when drbd-utils is missing. */
  utilsVersion: string | null;
  /** `drbdadm --version` DRBD_KERNEL_VERSION (the module drbd-utils sees; 0.0.0 or null when none). */
  utilsKernelVersion: string | null;
  /** Major version that matters for planning: the loaded module's, else the available module's. */
  major: 8 | 9 | null;
  /** Resources from `drbdsetup events2 --now` (empty when none are up). */
  resources: DrbdResourceFacts[];
  /** Minors listed in /proc/drbd (8.4 only; 9 lists none there). */
  minors: DrbdMinorFacts[];
}

export interface LvmFacts {
  /** Physical volumes with the volume group they belong to (null: a PV in no group). */
  physicalVolumes: { device: string; volumeGroup: string | null; sizeBytes: number | null; freeBytes: number | null }[];
  volumeGroups: { name: string; sizeBytes: number | null; freeBytes: number | null }[];
}

export interface LibvirtFacts {
  /** `virsh --version`, null when libvirt-clients is missing. */
  virshVersion: string | null;
  /** `systemctl is-active libvirtd.service`: active, inactive, failed... null when systemd could not answer. */
  libvirtdState: string | null;
  /** The same for libvirtd.socket (libvirtd is socket-activated on Debian 12). */
  libvirtdSocketState: string | null;
}

export interface SessionFacts {
  /** The server's address the SSH session came in on (3rd field of SSH_CONNECTION): the management address. */
  managementAddress: string;
  managementPort: number | null;
  /** Our address as the server sees it (after NAT and jump hosts). */
  clientAddress: string;
  /** Where SSH_CONNECTION was found: our environment, or an ancestor process (under sudo). */
  source: 'env' | 'ancestor';
}

/** Local timings of gatherFacts, for clock-skew estimates. */
export interface GatherTiming {
  /** Local epoch milliseconds when the exec was sent and when it returned. */
  startedAtMs: number;
  finishedAtMs: number;
  /**
   * Local epoch milliseconds when the clock's section (the script's first) had arrived: the clock was read
   * between startedAtMs and this, an error bar of one round trip however long the rest of the script runs.
   */
  clockReadByMs?: number;
  durationMs: number;
  /** Remote clock minus the midpoint of the local send time and the clock section's arrival, seconds; null without a remote clock. */
  estimatedSkewSeconds: number | null;
}

export interface ServerFacts {
  clock: Fact<ClockFacts>;
  hostname: Fact<HostnameFacts>;
  hosts: Fact<HostsFacts>;
  os: Fact<OsFacts>;
  kernel: Fact<KernelFacts>;
  cpu: Fact<CpuFacts>;
  memory: Fact<MemoryFacts>;
  virtualization: Fact<VirtualizationFacts>;
  disks: Fact<Disk[]>;
  network: Fact<NetworkFacts>;
  timeSync: Fact<TimeSyncFacts>;
  packages: Fact<PackageFacts[]>;
  drbd: Fact<DrbdFacts>;
  libvirt: Fact<LibvirtFacts>;
  lvm: Fact<LvmFacts>;
  session: Fact<SessionFacts>;
  /** Raw text of each section, by fact name (for --verbose and bug reports). */
  raw: Record<string, string>;
  /** Set by gatherFacts (absent when parsing a saved capture). */
  timing?: GatherTiming;
}

export type FactName = Exclude<keyof ServerFacts, 'raw' | 'timing'>;

/** The value type of one fact. */
export type FactValue<K extends FactName> = ServerFacts[K] extends Fact<infer T> ? T : never;
