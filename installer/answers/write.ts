/**
 * Answers -> answer-file text (the wizard saves its answers with this). Every value is written out,
 * defaults included, so the file documents the whole installation; it loads back to equal answers.
 */
import { Document, isMap, isScalar, isSeq, visit } from 'yaml';
import { API_VERSION, formatSize } from './schema.js';
import type { Answers } from './schema.js';

export interface WriteAnswerFileOptions {
  /** Comment lines at the top of the file (without '#'). */
  header?: string[];
}

const DEFAULT_HEADER = [
  `hvcluster answer file (${API_VERSION}).`,
  'Replay with: hvcluster apply -f site.yaml    Check with: hvcluster plan -f site.yaml',
  'Secrets are references ({ env: NAME } or { file: PATH }), never the secrets themselves.',
];

export function writeAnswerFile(answers: Answers, options: WriteAnswerFileOptions = {}): string {
  // Guests' sizes are numbers of MiB once loaded; the file writes them with their unit.
  const guests = answers.spec.guests.map((g) => ({
    ...g,
    memory: formatSize(g.memory),
    disks: g.disks.map((d) => ({ ...d, ...(d.size !== undefined ? { size: formatSize(d.size) } : {}) })),
  }));
  // No anchors and aliases for values that are one object in memory (the default `nics: [{}]` of
  // two guests): each guest's keys are written out in its own place.
  const doc = new Document({ ...answers, spec: { ...answers.spec, guests } }, { aliasDuplicateObjects: false });
  doc.commentBefore = (options.header ?? DEFAULT_HEADER).map((line) => ` ${line}`).join('\n');
  // Short lists of scalars read best on one line: dns: [198.18.1.1, 198.18.1.2].
  visit(doc, {
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  // A blank line between nodes and between the top-level sections of spec.
  const spec = doc.get('spec', true);
  if (isMap(spec)) {
    spec.items.forEach((pair, index) => {
      if (index > 0 && isScalar(pair.key)) pair.key.spaceBefore = true;
      if (isSeq(pair.value)) pair.value.items.forEach((item, i) => i > 0 && isMap(item) && (item.spaceBefore = true));
    });
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
