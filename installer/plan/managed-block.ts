/**
 * Files that hvcluster shares with their owner (libvirt's qemu.conf): only a marked block of
 * `key = value` settings is managed. Settings of the same keys elsewhere in the file are commented
 * out, so the managed ones are the ones in force; the rest of the file is left alone.
 */
const BEGIN = '# BEGIN hvcluster managed settings';
const END = '# END hvcluster managed settings';
const DISABLED = '# disabled by hvcluster (set in the managed block below): ';

function settingKey(line: string): string | undefined {
  return /^\s*([A-Za-z0-9_.-]+)\s*=/.exec(line)?.[1];
}

/** The file `current` with `fragment`'s settings in its managed block. Idempotent. */
export function mergeManagedBlock(current: string, fragment: string): string {
  const managedKeys = new Set(fragment.split('\n').map(settingKey).filter((key): key is string => key !== undefined));
  const lines = current.split('\n');
  const kept: string[] = [];
  let inBlock = false;
  for (const line of lines) {
    if (line === BEGIN) inBlock = true;
    else if (line === END) inBlock = false;
    else if (!inBlock) {
      const key = settingKey(line);
      kept.push(key !== undefined && managedKeys.has(key) ? `${DISABLED}${line}` : line);
    }
  }
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  const block = [BEGIN, ...fragment.replace(/\n+$/, '').split('\n'), END];
  return `${[...kept, ...(kept.length > 0 ? [''] : []), ...block].join('\n')}\n`;
}
