/**
 * A fully commented example answer file: every key, its default, what it does. A unit test keeps it
 * loading cleanly and naming every key of the schema.
 */
export function exampleAnswerFile(schemaUrl?: string): string {
  // The modeline of the YAML language server (VS Code's YAML extension, Neovim, Helix...): completion,
  // descriptions and errors as you type, from the schema installed with hvcluster.
  return schemaUrl ? `# yaml-language-server: $schema=${schemaUrl}\n${EXAMPLE}` : EXAMPLE;
}

const EXAMPLE = `# hvcluster answer file: the servers of a DRBD + KVM cluster, and how to set them up.
#
#   hvcluster plan  -f site.yaml          checks this file and the servers, shows what would change
#   hvcluster apply -f site.yaml --yes    installs, unattended
#   hvcluster verify -f site.yaml         checks a built cluster
#
# Unknown keys are errors (a typo is never ignored). Keys marked "default:" may be left out.
# Secrets never go in this file: write passwordFrom: { env: NAME } or passwordFrom: { file: PATH }.
# Editors check this file with the JSON Schema site.schema.json shipped with hvcluster (the first line).

# The format of this file. Required.
apiVersion: hvcluster/v1
# Always Cluster. Required.
kind: Cluster

metadata:
  # The cluster's name: a DNS label (lowercase letters, digits, '-'), at most 63 characters. Required.
  name: acme-prod

spec:
  # The 2 or 3 servers of the cluster. With 2 they mirror each other; with 3, each guest disk is
  # replicated between nodes (a three-way mesh with DRBD 9, spread over pairs with DRBD 8.4).
  nodes:
    # The node's name: it must equal \`uname -n\` on that server (DRBD identifies nodes by it). Required.
    - name: hv1
      # How hvcluster reaches the server over SSH. The whole block is optional.
      ssh:
        # Host name or address to connect to. Default: the management address below, without its prefix.
        address: 198.18.1.11
        # SSH port. Default: 22.
        port: 22
        # Login user: root, or a user with sudo rights. Default: root.
        user: root
        # Private key to log in with. Default: none (the ssh-agent and ~/.ssh/config are used).
        identityFile: ~/.ssh/id_ed25519
        # Where to read the passphrase of an encrypted identityFile. Default: none.
        # passphraseFrom: { env: HVCLUSTER_KEY_PASSPHRASE }
        # Offer the keys of the ssh-agent (SSH_AUTH_SOCK). Default: true.
        agent: true
        # Password login: where to read the password, never the password itself. Default: none.
        #   { env: NAME } reads the environment variable NAME of the hvcluster process;
        #   { file: PATH } reads the file (one trailing newline dropped; "~/" is your home directory,
        #   a relative path is relative to this file). A "password:" key is refused.
        # passwordFrom: { env: HVCLUSTER_SSH_PASSWORD }
        # When user is not root and sudo asks for a password: where to read it. Default: none.
        # sudoPasswordFrom: { file: ~/.config/hvcluster/hv1.sudo }
        # Pinned host key fingerprint, as \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` prints it
        # on the server. When set, only this key is accepted. Default: not pinned (known_hosts decides).
        # hostKey: "SHA256:uQ2mV0rMzQ9fGd7vX6kL1nS3pT5wY8aB4cE2hJ0kL9M"
        # Jump host(s), as OpenSSH's ProxyJump: [user@]host[:port], comma-separated. Default: none.
        # jump: admin@bastion.example.com:22
      # The management network: the node is administered here, and guests are bridged onto it.
      management:
        # The management NIC. hvcluster enslaves it to the bridge (spec.network.bridge), which keeps
        # this node's address. Give interface, or bond, not both.
        interface: ens3
        # Or a bond of several NICs instead of interface:
        # bond:
        #   name: bond0                 # the bond interface to create
        #   interfaces: [eno1, eno2]    # the NICs it enslaves
        #   mode: active-backup         # default: active-backup; also 802.3ad (LACP on the switch),
        #                               # balance-alb, balance-tlb, balance-rr, balance-xor, broadcast
        # The node's management address, with prefix. All nodes share one management subnet. Required.
        address: 198.18.1.11/24
        # Default gateway, inside the management subnet. Default: none (no default route).
        gateway: 198.18.1.1
        # Name servers, at most 3. Default: [] (the server's resolver configuration is left as it is).
        dns: [198.18.1.1]
      # The replication network: DRBD and live-migration traffic, on a NIC of its own (ideally a
      # direct cable between the nodes). Required.
      replication:
        # The replication NIC; not the management one. Required.
        interface: ens4
        # Replication address with prefix. All nodes share one replication subnet, apart from the
        # management subnet. Required.
        address: 198.19.1.11/24
      # The disk this node gives to the cluster: an LVM volume group on it holds the guests' disks. Required.
      storage:
        # Use the /dev/disk/by-id/... link (\`ls -l /dev/disk/by-id/\` on the server): names like
        # /dev/sdb can change across reboots. Required.
        disk: /dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R100001
        # DANGER: true lets hvcluster ERASE this disk if it holds anything (partitions, file systems,
        # LVM, RAID signatures). With false, a disk that is not blank is refused and nothing is
        # written to it. Set true only for a disk whose contents you mean to destroy. Default: false.
        wipe: false
      # The node's BMC (its IPMI controller: iDRAC, iLO, XClarity, Supermicro...), through which the
      # other nodes power it off when it stops answering (fencing). Required on every node with ha
      # (below), unused without it. A separate device: not one of the nodes' addresses.
      # bmc:
      #   type: ipmi                  # IPMI over LAN (fence_ipmilan), the only type. Default: ipmi.
      #   address: 198.18.2.11        # its address; the other nodes must reach it. Required.
      #   port: 623                   # IPMI UDP port. Default: 623.
      #   user: hvfence               # a BMC user with the operator privilege (power). Required.
      #   passwordFrom: { env: HV1_BMC_PASSWORD }   # never the password itself. Required.
      #   cipher: 17                  # IPMI 2.0 cipher suite; 3 only for BMCs without 17; 0 is refused. Default: 17.
      #   lanplus: true               # IPMI 2.0. Default: true.

    - name: hv2
      management:
        interface: ens3
        address: 198.18.1.12/24
        gateway: 198.18.1.1
        dns: [198.18.1.1]
      replication:
        interface: ens4
        address: 198.19.1.12/24
      storage:
        disk: /dev/disk/by-id/nvme-SAMSUNG_MZQL21T9HCJR-00A07_S64GNE0R100002
        wipe: false

    # A third node is written the same way.

  # Network settings shared by all nodes. The whole block is optional.
  network:
    # The bridge guests attach to, made on each node's management NIC or bond. Default: br0.
    bridge: br0
    # MTU of the replication NICs, 576 to 9216. 9000 (jumbo frames) only if every NIC and switch on
    # the path between the nodes carries them. Default: 1500.
    replicationMtu: 1500

  # DRBD replication. The whole block is optional.
  drbd:
    # Only C (synchronous) is supported: a live migration needs it. Default: C.
    protocol: C
    # skip-if-blank: skip the initial full sync only for a new volume proven zero on every node
    # (disks found blank, never wiped); full: always sync everything (slow on large disks, safe on
    # any). Default: skip-if-blank.
    initialSync: skip-if-blank
    # Resync rate limit: auto (DRBD's dynamic resync controller) or a number in MiB/s. Default: auto.
    syncRateMiB: auto
    # TCP port of the first DRBD resource; each further resource takes the next port. Default: 7788.
    basePort: 7788

  # Storage settings shared by all nodes. The whole block is optional.
  storage:
    # The LVM volume group made on each node's data disk; guest disks are its logical volumes. Default: hvdata.
    volumeGroup: hvdata

  # The hypervisor. The whole block is optional. Live migration runs over the replication network.
  hypervisor:
    # KVM with libvirt, the only one supported. Default: kvm.
    type: kvm

  # Where packages come from. The whole block is optional.
  packages:
    # online: the servers' own apt repositories; offline: a local package source. Default: online.
    source: online
    # With source: offline, the local source, required then:
    # offline:
    #   # A directory ON EACH SERVER holding the .deb files to install (as filled by
    #   # \`apt-get install --download-only\`); apt installs from it with --no-download, so the
    #   # server's package lists must match those files.
    #   path: /srv/hvcluster-debs

  # Time synchronization (chrony). The whole block is optional.
  time:
    # NTP servers (host names or addresses). Default: [] (chrony's distribution default pool).
    servers: [0.debian.pool.ntp.org, 1.debian.pool.ntp.org]


  # High availability: Pacemaker + Corosync restart a dead node's guests on a survivor, after
  # powering the dead node off through its bmc (every node needs one). Without this block the
  # cluster has no cluster manager: guests are started and moved by hand (or by hvcluster).
  # ha:
  #   # false keeps the block but installs no cluster manager. Default: true.
  #   enabled: true
  #   # Two nodes need a witness: a small third server (a VM elsewhere, a NAS, a Raspberry Pi with
  #   # Debian) running corosync-qnetd, whose vote breaks the tie when the nodes lose each other.
  #   # Three nodes make quorum alone: no witness then. hvcluster reaches it over SSH, with the same
  #   # keys as a node's ssh: (port, user, identityFile, passphraseFrom, agent, passwordFrom,
  #   # sudoPasswordFrom, hostKey, jump). It must not be one of the nodes.
  #   witness:
  #     address: 198.18.1.10      # the witness; the nodes reach its qnetd here too. Required.
  #     user: root
  #     identityFile: ~/.ssh/id_ed25519
  #     qnetdPort: 5403           # corosync-qnetd's TCP port. Default: 5403.
  #   # production: the cluster stack's own timeouts; emulated: detection timeouts raised for slow
  #   # emulated machines (the VM lab). Default: production.
  #   timing: production
  #   # TLS between the nodes and the witness; off only for a lab (a warning says so). Default: on.
  #   tls: "on"                 # quoted: YAML 1.1 tools read a bare on or off as a boolean
  #   # A second fencing level: diskless SBD on each node's hardware watchdog. When a node and its
  #   # BMC lose power together, fencing through the BMC cannot succeed; with this the others take
  #   # its guests over once its watchdog must have reset it (2 x timeout), instead of waiting for
  #   # an operator. Needs quorum (on two nodes, the witness's vote). Default: not set.
  #   watchdog:
  #     device: /dev/watchdog     # the hardware watchdog (iTCO_wdt, ipmi_watchdog...). Default: /dev/watchdog.
  #     timeout: 30               # s; at least 30 with a witness. Default: 30.

  # The customer's guests (virtual machines). For each one apply makes its disks (a logical volume
  # on each node that holds it, replicated by DRBD), defines it the same on those nodes (same UUID
  # and MAC addresses, so it can run and live-migrate on any of them) and starts it. Sizes take a
  # binary unit: MiB, GiB or TiB ("20G" or "20GB" is refused, not guessed). Default: [] (no guest).
  # guests:
  #   # The guest's name: its libvirt domain, and its DRBD resources and logical volumes (NAME-disk0,
  #   # NAME-disk1...) are named after it. Lowercase letters, digits and '-', 2 to 32 characters,
  #   # starting with a letter; hvc- is hvcluster's own. Required.
  #   - name: web1
  #     # Virtual CPUs, 1 to 256. Default: 1.
  #     vcpus: 2
  #     # Memory. Required.
  #     memory: 4GiB
  #     # Its disks, in order (the guest sees vda, vdb, ...): an empty disk of a size, or an image
  #     # (below). Required, at least one.
  #     disks:
  #       - size: 20GiB
  #     # Its network interfaces (virtio), each on a bridge. Default: one, on spec.network.bridge.
  #     nics:
  #       - bridge: br0                 # default: spec.network.bridge
  #         mac: "52:54:00:12:34:56"    # default: derived from the cluster's and the guest's names,
  #                                     # the same on every run; quoted: YAML 1.1 tools read it as a number
  #     # Three nodes with DRBD 8.4: the two nodes that hold its disks (on two nodes, both or leave it
  #     # out). Default: chosen by hvcluster (the pair with the most free space), then kept.
  #     replicas: [hv1, hv2]
  #     # Where it runs when nothing else decides: a node that holds its disks. Default: the first of them.
  #     preferredNode: hv1
  #     # Under Pacemaker: restarted on a survivor when its node dies; true needs spec.ha.
  #     # Default: true when spec.ha is enabled, else false.
  #     ha: false
  #     # Started by apply and at boot. Default: true.
  #     autostart: true
  #     # Boot devices, in order: hd, cdrom, network. Default: [hd].
  #     boot: [hd]
  #     # QEMU machine type: q35, or pc (i440fx) for an old guest. Default: q35.
  #     machine: q35
  #     # absent: apply stops the guest and deletes its domain, disks and DRBD resources (only with
  #     # --yes, or its name typed). Default: present.
  #     state: present
  #   # A server moved from elsewhere: its disk image (qcow2, raw, vmdk: anything qemu-img reads) on
  #   # the machine running hvcluster, written into the replicated disk once, when the guest is made.
  #   # Its size: the image's virtual size, or a larger size (the disk grows; the guest's file
  #   # systems do not). Keep its old MAC address if its network expects it.
  #   - name: erp
  #     memory: 8GiB
  #     disks:
  #       - image: /srv/images/erp.qcow2
  #       - { image: /srv/images/erp-data.qcow2, size: 200GiB }
  #     machine: pc

  # Backups of the guests' disks with BorgBackup 1.2, deduplicated, into one repository for the
  # cluster: each node backs up the guests it runs (a migration or a failover breaks nothing), from a
  # snapshot taken with the guest's filesystems frozen when its agent answers. Without this block
  # nothing is backed up.
  # backup:
  #   # Where the repository lives: a directory that is the same shared storage on every node (path),
  #   # or an NFS export that apply mounts there on every node (nfs). Required: path, nfs, or both.
  #   repository:
  #     # Not the system's own directories (/etc, /proc, /sys, /dev, /run, /boot, /usr).
  #     # Default with nfs: /var/lib/hvcluster/backup (the mount point).
  #     path: /var/lib/hvcluster/backup
  #     # An NFS export apply mounts at path on every node (automounted: a dead NAS never hangs a boot).
  #     nfs:
  #       server: 198.18.1.10        # host name or IPv4; not a node (the backups would die with it). Required.
  #       export: /srv/hvbackup      # exported read-write to the nodes' root (no_root_squash). Required.
  #       # nfs(5) mount options, comma-separated. NFSv4 frees a dead node's lock on the repository
  #       # when its lease expires; vers=3 is warned about. Default: vers=4.2,hard.
  #       options: "vers=4.2,hard"
  #   # repokey-blake2: encrypted, the key in the repository protected by the passphrase; none is
  #   # warned about. Default: repokey-blake2.
  #   encryption: repokey-blake2
  #   # Where to read the passphrase, never the passphrase itself; required with encryption. apply
  #   # writes it to each node as a file only root reads. A lost passphrase loses every backup.
  #   passphraseFrom: { env: HVCLUSTER_BACKUP_PASSPHRASE }
  #   # When the nodes back up: a systemd OnCalendar= expression, on one line. Default: none (no
  #   # timer: backups run only with \`hvcluster backup run\`).
  #   schedule: "*-*-* 02:00:00"
  #   # Sets kept per guest by borg prune after each run, 0 to 1000 each, not all 0 (the latest set is
  #   # always kept).
  #   retention:
  #     daily: 7                   # one per day for the last days. Default: 7.
  #     weekly: 4                  # one per week. Default: 4.
  #     monthly: 6                 # one per month. Default: 6.
  #   # The guests backed up (declared above, not absent). Default: every present guest.
  #   guests: [web1, erp]
  #   # Seconds the guest agent may take to freeze the filesystems; past that the snapshot is taken
  #   # anyway (crash-consistent), 1 to 120. Default: 10.
  #   freezeTimeout: 10
  #   # The temporary snapshot a backup reads: full (as large as the disk: cannot overflow) or a
  #   # percentage of the disk, 5% to 99% (less room; a guest writing more than that during its
  #   # backup fails it). Default: full.
  #   snapshotSize: full
  #   # verify (BACKUP_AGE) warns when a guest's last complete backup is older than this (m, h or
  #   # d). Default: from schedule, its longest gap between runs plus a twelfth of it (1 h to 1 day):
  #   # 26h for a daily schedule.
  #   # warnAfter: 26h
  #   # Compression of the stored data: lz4 (fast), zstd (smaller, more CPU) or none. Default: lz4.
  #   compression: lz4
`;
