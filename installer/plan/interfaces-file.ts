/**
 * /etc/network/interfaces is hvcluster's for the interfaces it manages (loopback, the management NIC
 * or bond and its ports, the bridge, the replication NIC), not for the others: the stanzas of the
 * server's other interfaces (a third NIC, a VLAN, a mapping) are kept, after the rendered file, under
 * a comment that says so. Stanzas of managed interfaces are replaced (the plan's diff shows them
 * removed). Comments and blank lines outside the rendered part are not kept. Pure and idempotent:
 * the file it makes, merged again, is itself.
 */
export const KEPT_HEADER = '# Kept from the previous file: interfaces hvcluster does not manage';

/** Lines that start a stanza in interfaces(5); anything else belongs to the stanza before it. */
const STANZA = /^(iface|mapping|auto|allow-[^\s]+|no-auto-down|no-scripts|source|source-directory|rename)(\s|$)/;
const LIST_STANZA = /^(auto|allow-[^\s]+|no-auto-down|no-scripts)$/;

/** The stanzas of `current` that concern no interface in `managed`, as interfaces(5) text blocks. Pure. */
export function foreignStanzas(current: string, rendered: string, managed: readonly string[]): string[] {
  const managedSet = new Set(managed);
  const renderedLines = new Set(rendered.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')));
  const kept: string[][] = [];
  let block: string[] | null = null; // the iface/mapping being read, null when it is not kept
  for (const raw of current.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = STANZA.exec(trimmed);
    if (!match) {
      if (block) block.push(line); // an option of the iface/mapping being read
      continue;
    }
    block = null;
    const words = trimmed.split(/\s+/);
    const keyword = words[0]!;
    if (LIST_STANZA.test(keyword)) {
      const names = words.slice(1).filter((name) => !managedSet.has(name));
      if (names.length > 0) kept.push([`${keyword} ${names.join(' ')}`]);
    } else if (keyword === 'iface' || keyword === 'mapping') {
      const name = words[1] ?? '';
      if (!managedSet.has(name)) kept.push((block = [trimmed]));
    } else if (keyword === 'rename') {
      // rename OLD=NEW: kept unless it renames a managed interface
      if (!words.slice(1).some((pair) => pair.split('=').some((n) => managedSet.has(n)))) kept.push([trimmed]);
    } else if (!renderedLines.has(words.join(' '))) {
      kept.push([trimmed]); // source / source-directory the rendered file does not already have
    }
  }
  return kept.map((lines) => lines.join('\n'));
}

/** The rendered file, plus the foreign stanzas of the current one. Pure. */
export function mergeInterfaces(current: string | null, rendered: string, managed: readonly string[]): string {
  const stanzas = current === null ? [] : foreignStanzas(current, rendered, managed);
  if (stanzas.length === 0) return rendered;
  return `${rendered.replace(/\n+$/, '')}\n\n${KEPT_HEADER}\n${stanzas.join('\n\n')}\n`;
}
