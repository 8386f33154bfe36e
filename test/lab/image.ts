// Cached guest images: a debootstrap'ed Debian 12 base (with an offline .deb cache) and a "prepared"
// layer with the hypervisor and DRBD packages installed. Keyed by a hash of the recipe.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR, type ImageKind } from './config.js';
import { ensureHostTools } from './host.js';
import * as recipe from './recipe.js';
import { fmtSecs, log, pidAlive, readPidFile, run, sleep } from './util.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const IMAGE_SIZE = '6G';

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

/** The host's Debian sources (deb822 first, then one-line sources.list). Only "deb" entries. */
export function readAptSources(): AptSource[] {
  const out: AptSource[] = [];
  const d822 = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(d822)) {
    for (const stanza of readFileSync(d822, 'utf8').split(/\n\s*\n/)) {
      const f: Record<string, string> = {};
      for (const line of stanza.split('\n')) {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (m && m[1] && m[2] !== undefined) f[m[1].toLowerCase()] = m[2].trim();
      }
      if (!(f.types ?? '').split(/\s+/).includes('deb') || !f.uris) continue;
      if ((f.enabled ?? 'yes').toLowerCase() === 'no') continue;
      for (const uri of f.uris.split(/\s+/)) {
        out.push({ uri, suites: (f.suites ?? '').split(/\s+/).filter(Boolean), components: (f.components ?? 'main').split(/\s+/).filter(Boolean) });
      }
    }
  }
  if (out.length === 0 && existsSync('/etc/apt/sources.list')) {
    for (const raw of readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const line = raw.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim();
      const [type, uri, suite, ...comps] = line.split(/\s+/);
      if (type !== 'deb' || !uri || !suite) continue;
      out.push({ uri, suites: [suite], components: comps.length ? comps : ['main'] });
    }
  }
  if (out.length === 0) throw new Error('no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list');
  return out;
}

/** The mirror that carries the main suite, for debootstrap. */
export function debootstrapMirror(sources = readAptSources()): string {
  const s = sources.find((x) => x.suites.includes(recipe.SUITE)) ?? sources[0];
  if (!s) throw new Error('no Debian mirror');
  return s.uri;
}

export function guestSourcesList(sources = readAptSources()): string {
  return sources.map((s) => s.suites.map((suite) => `deb ${s.uri} ${suite} ${s.components.join(' ')}\n`).join('')).join('');
}

/** The lab's SSH key pair (ed25519), generated once into the cache dir. */
export async function ensureLabKey(): Promise<{ key: string; pub: string }> {
  const dir = join(CACHE_DIR, 'ssh');
  const key = join(dir, 'id_ed25519');
  if (!existsSync(key) || !existsSync(`${key}.pub`)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    rmSync(key, { force: true });
    rmSync(`${key}.pub`, { force: true });
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'hvcluster-lab', '-f', key]);
  }
  chmodSync(key, 0o600);
  return { key, pub: `${key}.pub` };
}

function hashOf(parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

export async function recipeHashes(): Promise<{ base: string; prepared: string }> {
  const { pub } = await ensureLabKey();
  const base = hashOf([
    readFileSync(join(HERE, 'recipe.ts'), 'utf8'),
    String(recipe.RECIPE_VERSION),
    recipe.DEBOOTSTRAP_INCLUDE.join(','),
    recipe.OFFLINE_PACKAGES.join(','),
    guestSourcesList(),
    readFileSync(pub, 'utf8'),
  ]);
  const prepared = hashOf([base, recipe.PREPARED_PACKAGES.join(',')]);
  return { base, prepared };
}

export interface ImageInfo {
  kind: ImageKind;
  hash: string;
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  /** Wall time of this call (ms) and whether it built anything. */
  ms: number;
  built: boolean;
  /** Build timings recorded when the image was built (ms). */
  timings: Record<string, number>;
}

function imageDir(kind: ImageKind, hash: string): string {
  return join(CACHE_DIR, 'images', `${kind}-${hash}`);
}

function infoFor(kind: ImageKind, hash: string, ms: number, built: boolean): ImageInfo {
  const dir = imageDir(kind, hash);
  let timings: Record<string, number> = {};
  try {
    timings = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')).timings ?? {};
  } catch {}
  return { kind, hash, dir, disk: join(dir, `${kind}.qcow2`), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), ms, built, timings };
}

/** A cross-process lock (file with the owner's PID); stale locks of dead processes are taken over. */
async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      const owner = readPidFile(path);
      if (owner === undefined || !pidAlive(owner)) {
        rmSync(path, { force: true });
        continue;
      }
      if (!waited) log(`waiting for image build by PID ${owner} (${path})`);
      waited = true;
      await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

async function umountAll(root: string): Promise<void> {
  for (const m of ['dev/pts', 'dev', 'proc', 'sys']) {
    await run(['umount', '-l', join(root, m)], { allowFail: true });
  }
}

/** Removes a build tree; never crosses into a leftover bind mount (e.g. /dev of a killed build). */
async function removeTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await umountAll(join(dir, 'rootfs'));
  await umountAll(dir);
  await run(['rm', '-rf', '--one-file-system', dir]);
}

async function inChroot(root: string, script: string): Promise<void> {
  await run(['mount', '-t', 'proc', 'proc', join(root, 'proc')]);
  await run(['mount', '--bind', '/dev', join(root, 'dev')]);
  // apt needs to resolve the mirror while building; the image itself gets no resolver.
  copyFileSync('/etc/resolv.conf', join(root, 'etc/resolv.conf'));
  copyFileSync('/etc/hosts', join(root, 'etc/hosts'));
  writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    await run(['chroot', root, '/bin/bash', '-euo', 'pipefail', '-c', script], { inherit: !!process.env.HVCLUSTER_LAB_VERBOSE });
  } finally {
    await umountAll(root);
    rmSync(join(root, 'usr/sbin/policy-rc.d'), { force: true });
    writeFileSync(join(root, 'etc/resolv.conf'), '');
    writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n');
  }
}

/** rootfs dir -> sparse ext4 raw -> qcow2, plus kernel and initrd copied out. */
async function makeDisk(rootfs: string, outDir: string, kind: ImageKind): Promise<void> {
  const raw = join(outDir, `${kind}.raw`);
  await run(['truncate', '-s', IMAGE_SIZE, raw]);
  await run(['mkfs.ext4', '-F', '-q', '-L', 'hvroot', '-d', rootfs, raw]);
  await run(['qemu-img', 'convert', '-O', 'qcow2', raw, join(outDir, `${kind}.qcow2`)]);
  rmSync(raw, { force: true });
  const boot = readdirSync(join(rootfs, 'boot'));
  const vmlinuz = boot.filter((f) => f.startsWith('vmlinuz-')).sort().pop();
  const initrd = boot.filter((f) => f.startsWith('initrd.img-')).sort().pop();
  if (!vmlinuz || !initrd) throw new Error(`no kernel/initrd in ${rootfs}/boot`);
  copyFileSync(join(rootfs, 'boot', vmlinuz), join(outDir, 'vmlinuz'));
  copyFileSync(join(rootfs, 'boot', initrd), join(outDir, 'initrd.img'));
}

async function buildBase(hash: string): Promise<void> {
  const final = imageDir('base', hash);
  const tmp = `${final}.tmp`;
  await removeTree(tmp);
  mkdirSync(tmp, { recursive: true });
  const rootfs = join(tmp, 'rootfs');
  const debs = join(CACHE_DIR, 'debootstrap-debs');
  mkdirSync(debs, { recursive: true });
  const sources = readAptSources();
  const mirror = debootstrapMirror(sources);
  const timings: Record<string, number> = {};
  let t = Date.now();
  log(`debootstrap ${recipe.SUITE} from ${mirror} ...`);
  await run([
    'debootstrap', '--variant=minbase', `--cache-dir=${debs}`,
    `--include=${recipe.DEBOOTSTRAP_INCLUDE.join(',')}`, recipe.SUITE, rootfs, mirror,
  ]);
  timings.debootstrap = Date.now() - t;
  log(`debootstrap: ${fmtSecs(timings.debootstrap)}`);

  const { pub } = await ensureLabKey();
  for (const f of recipe.guestFiles(readFileSync(pub, 'utf8'))) {
    const p = join(rootfs, f.path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content, { mode: f.mode });
    chmodSync(p, f.mode);
  }
  rmSync(join(rootfs, 'etc/apt/sources.list.d'), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'etc/apt/sources.list.d'));
  writeFileSync(join(rootfs, 'etc/apt/sources.list'), guestSourcesList(sources));

  t = Date.now();
  log('chroot: apt-get update + download-only of the offline packages, boot tuning ...');
  await inChroot(rootfs, recipe.baseChrootScript());
  timings.download = Date.now() - t;
  log(`offline packages: ${fmtSecs(timings.download)}`);

  t = Date.now();
  await makeDisk(rootfs, tmp, 'base');
  timings.image = Date.now() - t;
  log(`ext4 + qcow2: ${fmtSecs(timings.image)}`);
  writeFileSync(join(tmp, 'build.json'), JSON.stringify({ hash, builtAt: new Date().toISOString(), mirror, timings }, null, 2));
  renameSync(tmp, final);
}

async function buildPrepared(hash: string, base: ImageInfo): Promise<void> {
  const final = imageDir('prepared', hash);
  const tmp = `${final}.tmp`;
  await removeTree(tmp);
  mkdirSync(tmp, { recursive: true });
  const rootfs = join(tmp, 'rootfs');
  const timings: Record<string, number> = {};
  let t = Date.now();
  log('prepared layer: copying the base root filesystem ...');
  await run(['cp', '-a', '--reflink=auto', join(base.dir, 'rootfs'), rootfs]);
  log('prepared layer: installing packages in the chroot (services not started) ...');
  await inChroot(rootfs, recipe.preparedChrootScript());
  timings.install = Date.now() - t;
  log(`prepared packages: ${fmtSecs(timings.install)}`);
  t = Date.now();
  await makeDisk(rootfs, tmp, 'prepared');
  timings.image = Date.now() - t;
  await removeTree(rootfs);
  writeFileSync(join(tmp, 'build.json'), JSON.stringify({ hash, base: base.hash, builtAt: new Date().toISOString(), timings }, null, 2));
  renameSync(tmp, final);
}

/** Returns the cached image of this kind, building it (and the base under it) if the recipe changed. */
export async function ensureImage(kind: ImageKind = 'base'): Promise<ImageInfo> {
  await ensureHostTools();
  const start = Date.now();
  const hashes = await recipeHashes();
  let built = false;
  const baseReady = () => existsSync(join(imageDir('base', hashes.base), 'build.json'));
  if (!baseReady()) {
    await withLock(join(CACHE_DIR, 'images', 'build.lock'), async () => {
      if (!baseReady()) {
        await buildBase(hashes.base);
        built = true;
      }
    });
  }
  const base = infoFor('base', hashes.base, Date.now() - start, built);
  if (kind === 'base') {
    log(`image base-${hashes.base}: ${built ? 'built' : 'cached'} in ${fmtSecs(base.ms)}`);
    return base;
  }
  const prepReady = () => existsSync(join(imageDir('prepared', hashes.prepared), 'build.json'));
  if (!prepReady()) {
    await withLock(join(CACHE_DIR, 'images', 'build.lock'), async () => {
      if (!prepReady()) {
        await buildPrepared(hashes.prepared, base);
        built = true;
      }
    });
  }
  const info = infoFor('prepared', hashes.prepared, Date.now() - start, built);
  log(`image prepared-${hashes.prepared}: ${built ? 'built' : 'cached'} in ${fmtSecs(info.ms)}`);
  return info;
}

/** Removes cached images whose hash no longer matches the recipe. */
export async function pruneImages(): Promise<string[]> {
  const hashes = await recipeHashes();
  const keep = new Set([`base-${hashes.base}`, `prepared-${hashes.prepared}`]);
  const dir = join(CACHE_DIR, 'images');
  const removed: string[] = [];
  if (!existsSync(dir)) return removed;
  for (const e of readdirSync(dir)) {
    if (e === 'build.lock' || keep.has(e)) continue;
    await removeTree(join(dir, e));
    removed.push(e);
  }
  return removed;
}

