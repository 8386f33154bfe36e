/** "did you mean ...?" for unknown keys. */

/** Edit distance: insertions, deletions, substitutions and swaps of neighbours ('prot' -> 'port' is 1). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

const normalize = (key: string) => key.toLowerCase().replace(/[-_\s]/g, '');

/**
 * The valid key the unknown `key` most likely meant, or undefined.
 * Same key in another spelling (case, '-', '_') first, then the nearest by edit distance
 * (at most 1 for short keys, 2 up to 8 characters, 3 beyond), then a key that contains it or that it contains.
 */
export function nearestKey(key: string, candidates: readonly string[]): string | undefined {
  const wanted = normalize(key);
  if (wanted === '') return undefined;
  const sameSpelling = candidates.find((c) => normalize(c) === wanted);
  if (sameSpelling) return sameSpelling;
  const limit = wanted.length <= 4 ? 1 : wanted.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = levenshtein(wanted, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= limit) return best;
  if (wanted.length >= 3) {
    return candidates.find((c) => normalize(c).includes(wanted) || wanted.includes(normalize(c)));
  }
  return undefined;
}
