/** What a node holds of its replicated volumes, as installer/remote/volume-state.sh prints it. Pure. */

export interface DrbdState {
  cstate: string | null;
  dstate: string | null;
  role: string | null;
}

export interface HolderView {
  /** The backing logical volume exists. */
  lvPresent: boolean;
  state: DrbdState;
  /** DRBD metadata on the volume: read only for a configured resource that is down (null: not read; unknown: drbdadm could not tell, so it is never recreated). */
  metadata: 'present' | 'absent' | 'unknown' | null;
  /** This resource's file, null when absent. */
  ownFile: string | null;
  /** Every resource file of the node, for the minors and ports in use. */
  allText: string;
}

export interface VolumeState {
  byName: Map<string, Omit<HolderView, 'ownFile' | 'allText'>>;
  /** /etc/drbd.d/*.res by file name. */
  resourceFiles: Map<string, string>;
}

/** The names the replication probe may use on a cluster of `nodes` nodes (read before the plan knows which). */
export function probeNameCandidates(nodes: number): string[] {
  return ['hvc-probe', ...Array.from({ length: nodes }, (_, i) => `hvc-probe${i + 1}`)];
}

const dash = (v: string | undefined) => (v === undefined || v === '-' ? null : v);

export function parseVolumeState(stdout: string): VolumeState {
  const byName = new Map<string, Omit<HolderView, 'ownFile' | 'allText'>>();
  const resourceFiles = new Map<string, string>();
  const entry = (name: string) => {
    let e = byName.get(name);
    if (!e) byName.set(name, (e = { lvPresent: false, state: { cstate: null, dstate: null, role: null }, metadata: null }));
    return e;
  };
  let file: { name: string; chunks: string[] } | null = null;
  for (const line of stdout.split('\n')) {
    if (file) {
      if (line === 'end') {
        resourceFiles.set(file.name, Buffer.from(file.chunks.join(''), 'base64').toString('utf8'));
        file = null;
      } else file.chunks.push(line.trim());
      continue;
    }
    const [kind, name, ...rest] = line.trim().split(/\s+/);
    if (!name) continue;
    if (kind === 'lv') entry(name).lvPresent = rest[0] === 'present';
    else if (kind === 'state') entry(name).state = { cstate: dash(rest[0]), dstate: dash(rest[1]), role: dash(rest[2]) };
    else if (kind === 'md') entry(name).metadata = rest[0] === 'present' || rest[0] === 'absent' || rest[0] === 'unknown' ? rest[0] : null;
    else if (kind === 'res') file = { name, chunks: [] };
  }
  return { byName, resourceFiles };
}

/** One holder's view of a resource. Pure. */
export function holderView(state: VolumeState, name: string): HolderView {
  const e = state.byName.get(name) ?? { lvPresent: false, state: { cstate: null, dstate: null, role: null }, metadata: null };
  return { ...e, ownFile: state.resourceFiles.get(`${name}.res`) ?? null, allText: allResourceText(state) };
}

/** Every resource file's text, for the minors and ports in use. */
export const allResourceText = (state: VolumeState) => [...state.resourceFiles.values()].join('\n');
