/**
 * The answer file (site.yaml) schema, version hvcluster/v1.
 *
 * This zod schema is the single source of truth: the loader validates with it, `Answers` is its
 * output type, and installer/answers/site.schema.json (for editors) is generated from it.
 *
 * Rules kept here:
 * - Every mapping is strict: an unknown key is an error (a typo must never be silently ignored).
 * - Every message a user can see starts with "expected ..." (the loader relies on this to tell
 *   our messages from zod's defaults) and says what a valid value looks like.
 * - Defaults live in the schema (`.default()`, `.prefault()`), and each `.describe()` names its default.
 * - No positional lists whose meaning depends on the order: nodes are named, everything else is keyed.
 * - HA: a per-node `bmc:` (the node's fencing device) and a cluster-level `ha:` (witness, timing,
 *   TLS of the quorum device). Without `ha:` the cluster has no cluster manager, as before.
 * - Guests (`spec.guests`): sizes only with a binary unit (read as MiB), so a loaded guest's sizes
 *   are numbers and write.ts writes them back with a unit.
 * - Backups (`spec.backup`): durations and percentages stay text as written ("26h", "20%"); the
 *   helpers below read them.
 * - Relations between fields (unique addresses, common subnets, ...) are checked in validate.ts.
 */
import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { addressOf, IPV4_CIDR_RE, IPV4_RE } from '../net/ipv4.js';

export const API_VERSION = 'hvcluster/v1';
export const KIND = 'Cluster';

/**
 * Keys that a later version will read, by name, with the message that refuses them today (the loader
 * says it instead of "unknown key"). Empty now that bmc and witness are read; kept for the next ones.
 * A key written in the wrong place (witness: under spec) is pointed to where it belongs anyway.
 */
export const RESERVED_KEYS: Readonly<Record<string, string>> = {};

/** Inline secret keys and the reference key to use instead. */
export const INLINE_SECRET_KEYS: Readonly<Record<string, string>> = {
  password: 'passwordFrom',
  sudoPassword: 'sudoPasswordFrom',
  passphrase: 'passphraseFrom',
};

// ---------------------------------------------------------------------------------------------
// Formats

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
export const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);
const DNS_LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Linux interface names: at most 15 bytes, no '/', ':' or whitespace. */
const IFNAME_RE = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/;
const USER_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}=?$/;
const JUMP_HOP_RE = /^(?:[A-Za-z_][A-Za-z0-9_.-]*@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const DEVICE_RE = /^\/dev\/\S+$/;
/** As lvm(8) accepts a VG name: these characters, not starting with '-', not '.' or '..'. */
const VG_RE = /^(?!-)(?!\.{1,2}$)[A-Za-z0-9+_.-]{1,127}$/;

export function isIPv4(text: string): boolean {
  return IPV4_RE.test(text);
}
export function isHostname(text: string): boolean {
  return HOSTNAME_RE.test(text) && !/^[\d.]+$/.test(text);
}

/** A string schema whose type error and format error both say `message`. */
function text(message: string, pattern?: RegExp) {
  const base = z.string({ error: message });
  // patternErrorMessage: editors (yaml-language-server, VS Code) say this instead of the bare regex.
  return pattern ? base.regex(pattern, { error: message }).meta({ patternErrorMessage: message }) : base;
}

const ipv4 = (example: string) => text(`expected an IPv4 address, like ${example}`, IPV4_RE);
const ipv4WithPrefix = (example: string) => text(`expected an IPv4 address with prefix, like ${example}`, IPV4_CIDR_RE);
const interfaceName = (example: string) =>
  text(`expected a network interface name (at most 15 characters: letters, digits, '_', '.', '-'), like ${example}`, IFNAME_RE);
const bool = (meaning: string) => z.boolean({ error: `expected true or false (${meaning})` });
const int = (min: number, max: number, what: string) => {
  const message = `expected ${what} from ${min} to ${max}`;
  return z.number({ error: message }).int({ error: message }).min(min, { error: message }).max(max, { error: message });
};
const hostOrAddress = (message: string) =>
  z.string({ error: message }).refine((s) => isIPv4(s) || isHostname(s) || isIPv6(s), { error: message });

// ---------------------------------------------------------------------------------------------
// Secrets: never inline, always a reference

export const SecretRefSchema = z
  .strictObject(
    {
    env: text('expected an environment variable name, like HVCLUSTER_SSH_PASSWORD', ENV_NAME_RE)
      .optional()
      .describe('Read the secret from this environment variable of the hvcluster process.'),
    file: text('expected the path of a file holding the secret, like ~/.config/hvcluster/hv1.password')
      .min(1, { error: 'expected the path of a file holding the secret, like ~/.config/hvcluster/hv1.password' })
      .optional()
      .describe(
        'Read the secret from this file (one trailing newline is dropped); "~/" is your home directory, a relative path is relative to the answer file.',
      ),
    },
    { error: 'expected a secret reference, { env: VARIABLE_NAME } or { file: PATH }, never the secret itself' },
  )
  .superRefine((ref, ctx) => {
    const count = Number(ref.env !== undefined) + Number(ref.file !== undefined);
    if (count !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          count === 0
            ? 'expected one of env or file, like { env: HVCLUSTER_SSH_PASSWORD } or { file: ~/.config/hvcluster/hv1.password }'
            : 'expected exactly one of env or file, not both',
      });
    }
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null })
  .meta({ oneOf: [{ required: ['env'] }, { required: ['file'] }] })
  .describe(
    'A reference to a secret kept outside the answer file: { env: VARIABLE } or { file: PATH }. Secrets are never written inline.',
  );
export type SecretRef = z.output<typeof SecretRefSchema>;

// ---------------------------------------------------------------------------------------------
// Nodes

const SSH_FIELDS = {
    address: hostOrAddress('expected a host name or IP address to reach the server over SSH, like 198.18.1.11')
      .optional()
      .describe('Host name or address hvcluster connects to. Default: the management address (without its prefix).'),
    port: int(1, 65535, 'a port number').default(22).describe('SSH port. Default: 22.'),
    user: text('expected a user name, like root or debian', USER_RE)
      .default('root')
      .describe('Login user; root, or a user with sudo rights (see sudoPasswordFrom). Default: root.'),
    identityFile: text('expected the path of a private key file, like ~/.ssh/id_ed25519')
      .min(1, { error: 'expected the path of a private key file, like ~/.ssh/id_ed25519' })
      .optional()
      .describe('Private key file to log in with. Default: none (the ssh-agent and ~/.ssh/config are used).'),
    passphraseFrom: SecretRefSchema.optional().describe('Where to read the passphrase of an encrypted identityFile.'),
    agent: bool('use the ssh-agent of SSH_AUTH_SOCK').default(true).describe('Offer the keys of the ssh-agent (SSH_AUTH_SOCK). Default: true.'),
    passwordFrom: SecretRefSchema.optional().describe('Where to read the login password, for password authentication. Never inline.'),
    sudoPasswordFrom: SecretRefSchema.optional().describe(
      'Where to read the sudo password when user is not root and sudo asks for one. Never inline.',
    ),
    hostKey: text('expected a host key fingerprint as `ssh-keygen -lf` prints it, like SHA256:ZXCb4Zk6tgSoV3Q0sCxmJ+XpWW0Vw2xfKm8O1Q0mM3E', FINGERPRINT_RE)
      .optional()
      .describe(
        'Pinned host key fingerprint (SHA256:...). When set, only this key is accepted; otherwise known_hosts decides. Default: not pinned.',
      ),
    jump: text('expected a jump host as [user@]host[:port], several separated by commas (like OpenSSH ProxyJump), like admin@bastion.example.com:22')
      .refine((s) => s.split(',').every((hop) => JUMP_HOP_RE.test(hop.trim())), {
        error: 'expected a jump host as [user@]host[:port], several separated by commas (like OpenSSH ProxyJump), like admin@bastion.example.com:22',
      })
      .optional()
      .describe('Jump host(s) to connect through, as OpenSSH ProxyJump: [user@]host[:port], comma-separated, outermost first. Default: none.'),
};

const SshSchema = z.strictObject(SSH_FIELDS).describe('How hvcluster reaches this server over SSH.');

export const BOND_MODES = ['active-backup', '802.3ad', 'balance-alb', 'balance-tlb', 'balance-rr', 'balance-xor', 'broadcast'] as const;

const BondSchema = z
  .strictObject({
    name: interfaceName('bond0').describe('Name of the bond interface to create.'),
    interfaces: z
      .array(interfaceName('eno1'), { error: 'expected a list of interface names, like [eno1, eno2]' })
      .min(1, { error: 'expected a list of at least one interface name, like [eno1, eno2]' })
      .describe('The NICs enslaved to the bond.'),
    mode: z
      .enum(BOND_MODES, { error: `expected a bonding mode: ${BOND_MODES.join(', ')}` })
      .default('active-backup')
      .describe('Linux bonding mode; 802.3ad needs LACP on the switch. Default: active-backup.'),
  })
  .describe('A bond of several NICs carrying the management network (instead of interface).');

const ManagementSchema = z
  .strictObject({
    interface: interfaceName('ens3')
      .optional()
      .describe('The management NIC. It is enslaved to the bridge (network.bridge) that guests attach to. Give interface or bond, not both.'),
    bond: BondSchema.optional(),
    address: ipv4WithPrefix('198.18.1.11/24').describe(
      "The node's management address with prefix; it moves onto the bridge, so the node keeps it.",
    ),
    gateway: ipv4('198.18.1.1').optional().describe('Default gateway, inside the management subnet. Default: none (no default route).'),
    dns: z
      .array(ipv4('198.18.1.1'), { error: 'expected a list of IPv4 addresses, like [198.18.1.1, 198.18.1.2]' })
      .max(3, { error: (issue) => `expected at most 3 name servers (the resolver uses only the first 3), found ${countOf(issue.input)}` })
      .default([])
      .describe("Name servers. Default: [] (the server's resolver configuration is left as it is)."),
  })
  .superRefine((m, ctx) => {
    if (m.interface === undefined && m.bond === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected interface (one NIC, like ens3) or bond (several NICs); neither is given' });
    } else if (m.interface !== undefined && m.bond !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['bond'], message: 'expected interface (one NIC) or bond (several NICs), not both; remove one of them' });
    }
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null })
  .meta({ oneOf: [{ required: ['interface'] }, { required: ['bond'] }] })
  .describe('The management network: the node is administered and guests are bridged here.');

const ReplicationSchema = z
  .strictObject({
    interface: interfaceName('ens4').describe(
      'The NIC dedicated to replication (ideally a direct cable between the nodes). DRBD and live migration use it.',
    ),
    address: ipv4WithPrefix('198.19.1.12/24').describe(
      'Replication address with prefix; all nodes share one replication subnet, apart from the management one.',
    ),
  })
  .describe('The replication network: DRBD and live-migration traffic.');

const NodeStorageSchema = z
  .strictObject({
    disk: text('expected the path of a block device, like /dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R123456', DEVICE_RE).describe(
      'The data disk that backs the LVM volume group and DRBD. Use a /dev/disk/by-id/... path: names like /dev/sdb can change across reboots.',
    ),
    wipe: bool('true erases everything on the disk')
      .default(false)
      .describe(
        'DANGER: true allows hvcluster to erase a disk that holds data (partitions, file systems, LVM, RAID signatures). With false, a disk that is not blank is refused. Default: false.',
      ),
  })
  .describe('The disk this node gives to the cluster.');


export const BMC_TYPES = ['ipmi'] as const;

export const BmcSchema = z
  .strictObject({
    type: z.enum(BMC_TYPES, { error: `expected ${BMC_TYPES.join(', ')} (IPMI over LAN, fenced with fence_ipmilan)` }).default('ipmi').describe('The BMC protocol: ipmi (IPMI over LAN: iDRAC, iLO, XClarity, Supermicro...). Default: ipmi.'),
    address: hostOrAddress('expected the host name or IP address of the BMC, like 198.18.251.1').describe(
      "The BMC's address. The other nodes must reach it: the cluster fences this node through it.",
    ),
    port: int(1, 65535, 'a port number').default(623).describe('IPMI UDP port. Default: 623.'),
    user: text('expected a BMC user name, like hvfence', /^\S{1,32}$/).describe('The BMC user fencing logs in as; it needs the operator privilege (power on/off).'),
    passwordFrom: SecretRefSchema.describe("Where to read the BMC user's password. Never inline."),
    cipher: int(0, 17, 'an IPMI cipher suite number')
      .default(17)
      .describe('IPMI 2.0 cipher suite. Real BMCs negotiate 17 (SHA256, AES); 3 only for BMCs without it. Default: 17.'),
    lanplus: bool('IPMI 2.0 (lanplus) rather than IPMI 1.5').default(true).describe('Use IPMI 2.0 (lanplus). Default: true.'),
  })
  .describe("The node's baseboard management controller: how the other nodes power it off when it stops answering (fencing). Required with ha.");
export type BmcAnswers = z.output<typeof BmcSchema>;

export const NodeSchema = z
  .strictObject({
    name: text(
      "expected a host name (letters, digits and '-', labels of at most 63 characters), the output of `uname -n` on that server, like hv1",
      HOSTNAME_RE,
    ).describe('The node name. It must equal `uname -n` on that server (DRBD identifies nodes by it).'),
    ssh: SshSchema.prefault({}),
    management: ManagementSchema,
    replication: ReplicationSchema,
    storage: NodeStorageSchema,
    bmc: BmcSchema.optional(),
  })
  .transform(({ ssh: { address, ...ssh }, ...node }) => ({
    name: node.name,
    ssh: { address: address ?? addressOf(node.management.address), ...ssh },
    management: node.management,
    replication: node.replication,
    storage: node.storage,
    ...(node.bmc ? { bmc: node.bmc } : {}),
  }))
  .describe('One server of the cluster.');

// ---------------------------------------------------------------------------------------------
// Cluster-wide settings

export const NetworkSchema = z
  .strictObject({
    bridge: interfaceName('br0').default('br0').describe('Name of the bridge guests attach to, on the management NIC. Default: br0.'),
    replicationMtu: int(576, 9216, 'an MTU')
      .default(1500)
      .describe('MTU of the replication NICs; 9000 (jumbo frames) only if every NIC and switch on the path supports it. Default: 1500.'),
  })
  .describe('Network settings shared by all nodes.');

const DrbdSchema = z
  .strictObject({
    protocol: z
      .literal('C', { error: 'expected C (synchronous replication, the only protocol DRBD allows for the dual-primary of a live migration)' })
      .default('C')
      .describe('DRBD replication protocol. Only C (synchronous) is supported: live migration needs it. Default: C.'),
    initialSync: z
      .enum(['skip-if-blank', 'full'], { error: 'expected skip-if-blank or full' })
      .default('skip-if-blank')
      .describe(
        'skip-if-blank: skip the initial full sync only for a new volume proven zero on every node (on disks found blank, never wiped, in the same run, and read back as zeroes); full: always sync everything. Default: skip-if-blank.',
      ),
    syncRateMiB: z
      .union([int(1, 10000, 'a resync rate in MiB/s'), z.literal('auto')], {
        error: 'expected auto or a resync rate in MiB/s from 1 to 10000, like 100',
      })
      .default('auto')
      .describe("Resync rate limit: a number in MiB/s, or auto (DRBD's dynamic resync controller). Default: auto."),
    basePort: int(1024, 65000, 'a TCP port')
      .default(7788)
      .describe('TCP port of the first DRBD resource; each further resource uses the next port. Default: 7788.'),
  })
  .describe('DRBD replication settings.');

const StorageSchema = z
  .strictObject({
    volumeGroup: text("expected an LVM volume group name (letters, digits, '+', '_', '.', '-'; not starting with '-', not '.' or '..'), like hvdata", VG_RE)
      .default('hvdata')
      .describe("Name of the LVM volume group created on each node's data disk; guest disks are its logical volumes. Default: hvdata."),
  })
  .describe('Storage settings shared by all nodes.');

const HypervisorSchema = z
  .strictObject({
    type: z.literal('kvm', { error: 'expected kvm' }).default('kvm').describe('Hypervisor: KVM with libvirt. Default: kvm.'),
  })
  .describe('Hypervisor settings. Live migration always runs over the replication network.');

export const PackagesSchema = z
  .strictObject({
    source: z
      .enum(['online', 'offline'], { error: 'expected online or offline' })
      .default('online')
      .describe("online: install from the servers' configured apt repositories; offline: from a local repository (offline.path). Default: online."),
    offline: z
      .strictObject({
        path: text('expected an absolute directory path, like /srv/hvcluster-debs', /^\/\S*$/).describe(
          'A directory on each server holding the .deb files to install (as `apt-get install --download-only` fills /var/cache/apt/archives); apt installs from it without downloading, so the package lists on the server must match.',
        ),
      })
      .optional()
      .describe('The local package source; required when source is offline.'),
  })
  .describe('Where packages come from.');

const TimeSchema = z
  .strictObject({
    servers: z
      .array(hostOrAddress('expected a host name or IP address of an NTP server, like ntp1.example.com'), {
        error: 'expected a list of NTP servers, like [ntp1.example.com, 198.18.1.1]',
      })
      .default([])
      .describe("NTP servers for chrony. Default: [] (chrony's distribution default pool)."),
  })
  .describe('Time synchronization (chrony).');


export const HA_TIMINGS = ['production', 'emulated'] as const;

const WitnessSchema = z
  .strictObject({
    ...SSH_FIELDS,
    address: hostOrAddress('expected the host name or IP address of the witness, like 198.18.1.10').describe(
      'The witness server hvcluster connects to over SSH; the nodes reach its corosync-qnetd at this address too.',
    ),
    qnetdPort: int(1, 65535, 'a TCP port').default(5403).describe('TCP port of corosync-qnetd on the witness. Default: 5403.'),
  })
  .describe('A third server (small: a VM elsewhere, a NAS, a Raspberry Pi with Debian) that runs corosync-qnetd and breaks ties between two nodes. Required with two nodes; not used with three.');

/** The watchdog level's timeouts, s: at least the quorum device's sync_timeout (30 s) with a witness (sbd(8)). */
export const WATCHDOG_TIMEOUT_MIN_S = 5;
export const WATCHDOG_TIMEOUT_MAX_S = 120;
export const QDEVICE_SYNC_TIMEOUT_S = 30;
export const DEFAULT_WATCHDOG_DEVICE = '/dev/watchdog';

const WatchdogSchema = z
  .strictObject({
    device: text('expected the path of a watchdog device, like /dev/watchdog', /^\/dev\/[A-Za-z0-9_.-]+$/)
      .default(DEFAULT_WATCHDOG_DEVICE)
      .describe("The node's hardware watchdog (iTCO_wdt, ipmi_watchdog, i6300esb...), the same path on every node. Default: /dev/watchdog."),
    timeout: int(WATCHDOG_TIMEOUT_MIN_S, WATCHDOG_TIMEOUT_MAX_S, 'a number of seconds')
      .default(QDEVICE_SYNC_TIMEOUT_S)
      .describe(
        "SBD_WATCHDOG_TIMEOUT: a node that lost quorum (or whose sbd stopped) is reset by its watchdog within this; the survivors take its guests over 2 x this after fencing through its BMC failed. With a witness at least 30 (the quorum device's sync_timeout). Default: 30.",
      ),
  })
  .describe(
    "A second fencing level: diskless SBD on each node's hardware watchdog. When a node's BMC does not answer (the node and its BMC lost power together), the survivors treat the node as fenced once its watchdog must have reset it, instead of waiting for an operator. Needs quorum: on two nodes the witness's vote.",
  );

export const HaSchema = z
  .strictObject({
    enabled: bool('false keeps the ha section but installs no cluster manager').default(true).describe('Install Pacemaker and Corosync. Default: true (the section is there).'),
    witness: WitnessSchema.optional(),
    timing: z
      .enum(HA_TIMINGS, { error: `expected ${HA_TIMINGS.join(' or ')}` })
      .default('production')
      .describe(
        'production: the cluster stack defaults (token 3 s, stonith-timeout 60 s); emulated: only detection timeouts raised for slow emulated machines (the VM lab). Behaviour is the same. Default: production.',
      ),
    tls: z
      .enum(['on', 'off'], { error: 'expected on or off' })
      .default('on')
      .describe('TLS between the nodes and the witness (corosync-qdevice certificates). off only for a lab; every report says so. Default: on.'),
    watchdog: WatchdogSchema.optional(),
  })
  .describe('High availability: Pacemaker + Corosync restart a dead node\'s guests on a survivor after fencing it through its BMC.');
export type HaAnswers = z.output<typeof HaSchema>;

// ---------------------------------------------------------------------------------------------
// Guests (issue 16): spec.guests, the customer's virtual machines

/** Guest names: libvirt domain, DRBD resource, LV and Pacemaker ids are derived from them. `hvc-` is hvcluster's own. */
export const GUEST_NAME_RE = /^(?!hvc-)[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const SIZE_RE = /^([1-9][0-9]*)\s*(MiB|GiB|TiB)$/;
const SIZE_UNITS: Record<string, number> = { MiB: 1, GiB: 1024, TiB: 1024 * 1024 };

/** A size with a binary unit ("20GiB", "512MiB") as MiB; a decimal unit (GB) or none is refused, not guessed. */
const size = (what: string, example: string, minMiB: number) => {
  const message = `expected ${what} with a binary unit (MiB, GiB or TiB), like ${example}`;
  return z
    .string({ error: message })
    .regex(SIZE_RE, { error: message })
    .meta({ patternErrorMessage: message })
    .transform((t, ctx) => {
      const [, n, unit] = SIZE_RE.exec(t)!;
      const mib = Number(n) * SIZE_UNITS[unit!]!;
      if (mib < minMiB) ctx.addIssue({ code: 'custom', message: `expected ${what} of at least ${minMiB} MiB, found ${t}` });
      return mib;
    });
};

/** A size in MiB as the answer file writes it: in the largest binary unit that holds it exactly (20GiB, 1536MiB). */
export function formatSize(mib: number): string {
  const unit = (['TiB', 'GiB'] as const).find((u) => mib % SIZE_UNITS[u]! === 0) ?? 'MiB';
  return `${mib / SIZE_UNITS[unit]!}${unit}`;
}

const GuestDiskSchema = z
  .union(
    [
      z.strictObject({ size: size('a disk size', '20GiB', 16).describe('An empty disk of this size.') }),
      z.strictObject({
        image: text('expected the path of a disk image, like /srv/images/old-server.qcow2', /^\/\S+$/).describe(
          "A disk image (qcow2, raw, vmdk: anything qemu-img reads) on the installer's machine, streamed into the guest's replicated disk once, when the guest is created.",
        ),
        size: size('a disk size', '40GiB', 16).optional().describe("The disk's size; default: the image's virtual size. Larger grows the disk (the guest's filesystem is not touched)."),
      }),
    ],
    { error: 'expected a disk: { size: 20GiB } or { image: /path/to/image.qcow2 }' },
  )
  .describe('One disk of the guest: empty, or from an image.');

const GuestNicSchema = z
  .strictObject({
    bridge: interfaceName('br0').optional().describe("The bridge the NIC is on. Default: the cluster's bridge (spec.network.bridge)."),
    mac: text('expected a MAC address in lowercase, like 52:54:00:12:34:56', MAC_RE)
      .optional()
      .describe('Its MAC address (keep the old one for a guest moved from another server). Default: derived from the cluster, the guest and the NIC, stable across runs.'),
  })
  .describe('One network interface of the guest (virtio).');

export const GuestSchema = z
  .strictObject({
    name: text("expected a guest name: lowercase letters, digits and '-', 2 to 32 characters, starting with a letter, not starting with hvc-, like web1", GUEST_NAME_RE).describe(
      'The guest name: its libvirt domain, DRBD resource and logical volume are named after it.',
    ),
    vcpus: int(1, 256, 'a number of virtual CPUs').default(1).describe('Virtual CPUs. Default: 1.'),
    memory: size('a memory size', '4GiB', 64).describe('Memory of the guest.'),
    disks: z.array(GuestDiskSchema, { error: 'expected a list of disks' }).min(1, { error: 'expected at least one disk' }).describe('Its disks, in order (vda, vdb, ...).'),
    nics: z
      .array(GuestNicSchema, { error: 'expected a list of network interfaces' })
      .default([{}])
      .describe("Its network interfaces. Default: one, on the cluster's bridge."),
    replicas: z
      .tuple([text('expected a node name', HOSTNAME_RE), text('expected a node name', HOSTNAME_RE)], { error: 'expected the two nodes holding its disk, like [hv1, hv2]' })
      .optional()
      .describe('Three nodes with DRBD 8.4: the two nodes that hold its disks. Default: chosen by hvcluster (the pair with the most free space), and kept.'),
    preferredNode: text('expected a node name', HOSTNAME_RE).optional().describe('Where it runs when nothing else decides. Default: the first of its replica nodes.'),
    ha: bool('true: Pacemaker restarts it on a survivor').optional().describe('Under Pacemaker (restarted on a survivor when its node dies). Default: true when spec.ha is enabled; needs it.'),
    autostart: bool('started when the cluster (or, without HA, its preferred node) starts').default(true).describe('Started by apply and at boot. Default: true.'),
    boot: z
      .array(z.enum(['hd', 'cdrom', 'network'], { error: 'expected hd, cdrom or network' }), { error: 'expected a list of boot devices, like [hd, network]' })
      .min(1, { error: 'expected at least one boot device' })
      .default(['hd'])
      .describe('Boot devices in order. Default: [hd].'),
    machine: z.enum(['q35', 'pc'], { error: 'expected q35 or pc' }).default('q35').describe('QEMU machine type: q35 (modern), or pc (i440fx) for an old guest. Default: q35.'),
    state: z
      .enum(['present', 'absent'], { error: 'expected present or absent' })
      .default('present')
      .describe("absent: apply stops the guest and deletes its domain, disks and DRBD resource (only with --yes or its name typed). Default: present."),
  })
  .describe('A guest (virtual machine) on the cluster, its disks replicated by DRBD.');
export type GuestAnswers = z.output<typeof GuestSchema>;

// ---------------------------------------------------------------------------------------------
// Backups (issue 18): spec.backup, one borg repository per cluster (docs/design/backups.md)

export const BACKUP_ENCRYPTIONS = ['repokey-blake2', 'none'] as const;
export const BACKUP_COMPRESSIONS = ['lz4', 'zstd', 'none'] as const;
/** Where the repository's storage is mounted on every node when spec.backup.repository.nfs is given without a path. */
export const DEFAULT_BACKUP_PATH = '/var/lib/hvcluster/backup';
const ABSOLUTE_PATH_RE = /^\/\S*$/;
/** `full`, or `20%`: the size of a backup's temporary snapshot as a share of its volume, 5 to 99. */
const SNAPSHOT_SIZE_RE = /^(?:full|([5-9]|[1-9][0-9])%)$/;
/** `26h`, `90m`, `2d`: a whole number of minutes, hours or days. */
const DURATION_RE = /^([1-9][0-9]{0,5})(m|h|d)$/;
const DURATION_MINUTES: Record<string, number> = { m: 1, h: 60, d: 24 * 60 };

/** The percentage of a snapshotSize like "20%"; undefined for "full" (-l 100%ORIGIN: a snapshot that cannot overflow). */
export function snapshotPercent(size: string): number | undefined {
  const match = SNAPSHOT_SIZE_RE.exec(size);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** A warnAfter duration ("26h", "90m", "2d") in minutes. Throws on text the schema refuses. */
export function durationMinutes(duration: string): number {
  const match = DURATION_RE.exec(duration);
  if (!match) throw new Error(`not a duration: ${JSON.stringify(duration)}`);
  return Number(match[1]) * DURATION_MINUTES[match[2]!]!;
}

const BackupNfsSchema = z
  .strictObject({
    // IPv4 or a host name, as the design says: the mount unit and the lab (198.18.0.0/15) speak IPv4.
    server: z
      .string({ error: 'expected the host name or IPv4 address of the NFS server, like 198.18.1.10' })
      .refine((s) => isIPv4(s) || isHostname(s), { error: 'expected the host name or IPv4 address of the NFS server, like 198.18.1.10' })
      .describe('The NFS server holding the repository. Not one of the nodes: the backups would die with it.'),
    export: text('expected the absolute path the NFS server exports, like /srv/hvbackup', ABSOLUTE_PATH_RE).describe(
      'The directory the server exports (every node mounts it read-write, as root: no_root_squash).',
    ),
    options: text('expected NFS mount options separated by commas, without spaces, like vers=4.2,hard', /^[^\s,]+(?:,[^\s,]+)*$/)
      .default('vers=4.2,hard')
      .describe(
        'Mount options (nfs(5)), comma-separated; apply adds _netdev,nofail. NFSv4 keeps the writers\' lock (flock) in the protocol; vers=3 is warned about. Default: vers=4.2,hard.',
      ),
  })
  .describe('An NFS export that apply mounts at repository.path on every node (an automount: a dead NAS never hangs a boot).');

const BackupRepositorySchema = z
  .strictObject({
    path: text('expected an absolute directory path, like /var/lib/hvcluster/backup', ABSOLUTE_PATH_RE)
      .optional()
      .describe(
        `The repository's directory: the same shared storage on every node (hvcluster keeps CLUSTER/borg, CLUSTER/locks and CLUSTER/status in it). Required without nfs; with nfs, where it is mounted. Default with nfs: ${DEFAULT_BACKUP_PATH}.`,
      ),
    nfs: BackupNfsSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.path === undefined && r.nfs === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `expected path (a directory every node shares, like ${DEFAULT_BACKUP_PATH}) or nfs (an export apply mounts, like { server: 198.18.1.10, export: /srv/hvbackup }); neither is given`,
      });
    }
  }, { when: (payload) => typeof payload.value === 'object' && payload.value !== null })
  .transform(({ path, nfs }) => ({ path: path ?? DEFAULT_BACKUP_PATH, ...(nfs ? { nfs } : {}) }))
  .meta({ anyOf: [{ required: ['path'] }, { required: ['nfs'] }] })
  .describe('Where the borg repository lives: a directory every node shares (path), or an NFS export apply mounts there (nfs).');

const BackupRetentionSchema = z
  .strictObject({
    daily: int(0, 1000, 'a number of daily sets to keep').default(7).describe('Sets kept for the last days, one per day. Default: 7.'),
    weekly: int(0, 1000, 'a number of weekly sets to keep').default(4).describe('Sets kept for the last weeks, one per week. Default: 4.'),
    monthly: int(0, 1000, 'a number of monthly sets to keep').default(6).describe('Sets kept for the last months, one per month. Default: 6.'),
  })
  .describe("How many of a guest's sets `borg prune` keeps after each run (the latest one always). The whole block is optional.");

export const BackupSchema = z
  .strictObject({
    repository: BackupRepositorySchema,
    encryption: z
      .enum(BACKUP_ENCRYPTIONS, { error: `expected ${BACKUP_ENCRYPTIONS.join(' or ')}` })
      .default('repokey-blake2')
      .describe("borg's encryption: repokey-blake2 (the key in the repository, protected by the passphrase), or none (warned about). Default: repokey-blake2."),
    passphraseFrom: SecretRefSchema.optional().describe(
      "Where to read the repository's passphrase; required with encryption. apply writes it to each node as a root-only file; it is never printed. A lost passphrase loses every backup. Never inline.",
    ),
    schedule: z
      .string({ error: 'expected a systemd calendar expression (OnCalendar=), like "*-*-* 02:00:00"' })
      .optional()
      .describe('When every node backs up the guests it runs: a systemd OnCalendar= expression. Default: none (no timer; `hvcluster backup run` only).'),
    retention: BackupRetentionSchema.prefault({}),
    guests: z
      .array(text('expected the name of a guest of spec.guests, like web', GUEST_NAME_RE), { error: 'expected a list of guest names, like [web, db]' })
      .optional()
      .describe('The guests backed up, by name (declared in spec.guests, not absent). Default: every present guest.'),
    freezeTimeout: int(1, 120, 'a number of seconds')
      .default(10)
      .describe("How long the guest agent may take to freeze the guest's filesystems before the snapshot is taken without it (crash-consistent). Default: 10."),
    snapshotSize: text('expected full or a percentage of the disk from 5% to 99%, like 20%', SNAPSHOT_SIZE_RE)
      .default('full')
      .describe(
        'Size of the temporary snapshot a backup reads: full (as large as the disk: it cannot overflow), or a percentage (less space; a guest writing more than that during its backup fails it). Default: full.',
      ),
    warnAfter: text('expected a duration: a whole number with m (minutes), h (hours) or d (days), like 26h', DURATION_RE)
      .optional()
      .describe(
        "Age of a guest's last complete backup past which verify warns (BACKUP_AGE). Default: from schedule, its longest gap between two runs plus a twelfth of it (1 h to 1 day): 26h for a daily schedule; 26h when the gap cannot be derived from it; without schedule, no warning.",
      ),
    compression: z
      .enum(BACKUP_COMPRESSIONS, { error: 'expected lz4, zstd or none' })
      .default('lz4')
      .describe('Compression of the stored chunks: lz4 (fast), zstd (smaller, more CPU), none. Default: lz4.'),
  })
  .describe("Backups of the guests' disks with BorgBackup 1.2: deduplicated, into one repository per cluster, by each node for the guests it runs.");
export type BackupAnswers = z.output<typeof BackupSchema>;

export const AnswersSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION, { error: `expected ${API_VERSION}` }).describe(`Answer file format version: ${API_VERSION}.`),
    kind: z.literal(KIND, { error: `expected ${KIND}` }).describe(`Always ${KIND}.`),
    metadata: z
      .strictObject({
        name: text("expected a DNS label (lowercase letters, digits and '-', at most 63 characters), like acme-prod", DNS_LABEL_RE).describe(
          'The cluster name, a DNS label.',
        ),
      })
      .describe('Identifies the cluster.'),
    spec: z
      .strictObject({
        nodes: z
          .array(NodeSchema, { error: 'expected a list of 2 or 3 nodes' })
          .min(2, { error: (issue) => `expected 2 or 3 nodes, found ${countOf(issue.input)}` })
          .max(3, { error: (issue) => `expected 2 or 3 nodes, found ${countOf(issue.input)}` })
          .describe('The 2 or 3 servers of the cluster, each identified by its name.'),
        network: NetworkSchema.prefault({}),
        drbd: DrbdSchema.prefault({}),
        storage: StorageSchema.prefault({}),
        hypervisor: HypervisorSchema.prefault({}),
        packages: PackagesSchema.prefault({}),
        time: TimeSchema.prefault({}),
        ha: HaSchema.optional(),
        guests: z
          .array(GuestSchema, { error: 'expected a list of guests, like [{ name: web1, memory: 4GiB, disks: [{ size: 20GiB }] }]' })
          .default([])
          .describe("The customer's guests (virtual machines), each with its disks replicated by DRBD. Default: [] (no guest)."),
        backup: BackupSchema.optional(),
      })
      .describe('The desired cluster.'),
  })
  .meta({ title: 'hvcluster answer file (site.yaml)' })
  .describe(`An hvcluster answer file, format ${API_VERSION}: the servers of a DRBD + KVM cluster and how to set them up.`);

function countOf(input: unknown): number {
  return Array.isArray(input) ? input.length : 0;
}

/** A validated answer file with every default filled in. */
export type Answers = z.output<typeof AnswersSchema>;
/** What may be written in an answer file (defaults optional). */
export type AnswersInput = z.input<typeof AnswersSchema>;
export type NodeAnswers = Answers['spec']['nodes'][number];
