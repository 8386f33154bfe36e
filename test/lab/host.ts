// Host prerequisites: the lab installs missing Debian packages itself when root (CI runs on a fresh machine).
import { run, log, isRoot } from './util.js';

/** command -> Debian package providing it */
const TOOLS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  debootstrap: 'debootstrap',
  ip: 'iproute2',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  'ssh-keyscan': 'openssh-client',
  'mkfs.ext4': 'e2fsprogs',
  chroot: 'coreutils',
  mount: 'mount',
  // the simulated BMCs (one per node VM)
  ipmi_sim: 'openipmi',
  ss: 'iproute2',
};

async function have(cmd: string): Promise<boolean> {
  const r = await run(['sh', '-c', `command -v ${cmd}`], {
    allowFail: true,
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
  });
  return r.code === 0;
}

let checked = false;

export async function ensureHostTools(): Promise<void> {
  if (checked) return;
  // The lab runs ip/mkfs/debootstrap which live in sbin.
  if (!(process.env.PATH ?? '').includes('/usr/sbin')) process.env.PATH = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
  const missing = new Set<string>();
  for (const [cmd, pkg] of Object.entries(TOOLS)) if (!(await have(cmd))) missing.add(pkg);
  if (missing.size > 0) {
    const line = `apt-get install -y --no-install-recommends ${[...missing].join(' ')}`;
    if (!isRoot()) throw new Error(`missing host packages; run as root:\n  apt-get update && ${line}`);
    log(`installing host packages: ${[...missing].join(' ')}`);
    await run(['apt-get', 'update'], { inherit: true });
    await run(['sh', '-c', `DEBIAN_FRONTEND=noninteractive ${line}`], { inherit: true });
  }
  if (!isRoot()) throw new Error('the lab needs root (network namespaces, taps, debootstrap)');
  checked = true;
}
