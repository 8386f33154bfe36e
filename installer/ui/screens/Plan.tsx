/**
 * The plan: per server the files created or changed (diffs on request), the packages, the data
 * disk, and the changes apply will make (listed on request: the list `apply --dry-run` shows); then
 * the confirmation. A disk that holds data is erased only after its name has been typed.
 */
import { Box, Text, useInput } from 'ink';
import React, { useState } from 'react';
import type { PlanComparison } from '../../plan/diff.js';
import type { PlannedChange } from '../backend.js';
import { Title, TypeToConfirm, YesNo } from '../components.js';

export interface DiskToErase {
  node: string;
  /** The disk as the answer file names it. */
  disk: string;
  /** What the user types: the kernel name (sdb, nvme1n1). */
  name: string;
  reasons: string[];
}

const DIFF_LINES = 40;

function DiffText(props: { diff: string }) {
  const lines = props.diff.replace(/\n$/, '').split('\n');
  const shown = lines.slice(0, DIFF_LINES);
  return (
    <Box flexDirection="column" marginLeft={4}>
      {shown.map((line, i) => (
        <Text key={i} color={line.startsWith('+++') || line.startsWith('---') ? undefined : line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : line.startsWith('@@') ? 'cyan' : undefined} bold={line.startsWith('+++') || line.startsWith('---')}>
          {line === '' ? ' ' : line}
        </Text>
      ))}
      {lines.length > shown.length ? <Text dimColor>… {lines.length - shown.length} more lines (hvcluster plan -f site.yaml shows all)</Text> : null}
    </Box>
  );
}

export function PlanSummary(props: { comparison: PlanComparison; diffs: boolean; changes?: PlannedChange[]; listChanges?: boolean }) {
  const { comparison } = props;
  const s = comparison.summary;
  return (
    <Box flexDirection="column">
      {comparison.nodes.map((node) => (
        <Box key={node.name} flexDirection="column" marginBottom={1}>
          <Text bold>== {node.name} ==</Text>
          {node.files.map((file) => (
            <Box key={file.path} flexDirection="column">
              <Text>
                {'  '}
                {file.change === 'create' ? <Text color="green">create   </Text> : file.change === 'change' ? <Text color="yellow">change   </Text> : <Text dimColor>unchanged</Text>} {file.path}{' '}
                <Text dimColor>({file.purpose})</Text>
              </Text>
              {props.diffs && file.diff !== '' ? <DiffText diff={file.diff} /> : null}
            </Box>
          ))}
          <Text>
            {'  '}
            {node.packagesToInstall.length > 0 ? (
              <>
                <Text color="green">install  </Text> {node.packagesToInstall.join(' ')}
              </>
            ) : (
              <Text dimColor>packages  all installed</Text>
            )}
          </Text>
          <Text>
            {'  '}
            <Text dimColor>storage  </Text> volume group {node.volumeGroup.name} on {node.volumeGroup.disk}
            {node.volumeGroup.wipe ? <Text color="red"> (the disk will be erased)</Text> : null}
          </Text>
          {props.changes ? <NodeChanges changes={props.changes.filter((c) => c.server === node.name)} list={props.listChanges ?? false} /> : null}
        </Box>
      ))}
      <Text>
        Plan for <Text bold>{comparison.cluster}</Text> (DRBD {comparison.drbdMajor}): {s.create} files to create, {s.change} to change, {s.unchanged} unchanged; {s.packages} packages to install across{' '}
        {comparison.nodes.length} servers.
      </Text>
    </Box>
  );
}

function NodeChanges(props: { changes: PlannedChange[]; list: boolean }) {
  const width = Math.max(0, ...props.changes.map((c) => c.step.length));
  return (
    <Box flexDirection="column">
      <Text>
        {'  '}
        <Text dimColor>changes  </Text> {props.changes.length === 0 ? 'none' : `${props.changes.length} in order${props.list ? ':' : ''}`}
      </Text>
      {props.list
        ? props.changes.map((c, i) => (
            <Text key={i}>
              {'    '}
              <Text dimColor>{c.step.padEnd(width)}</Text> {c.description}
            </Text>
          ))
        : null}
    </Box>
  );
}

export interface PlanScreenProps {
  comparison: PlanComparison;
  /** Every change apply will make (the dry run's list). */
  changes?: PlannedChange[];
  erase: DiskToErase[];
  warnings?: string[];
  onApply: () => void;
  onBack: () => void;
}

export function PlanScreen(props: PlanScreenProps) {
  const [diffs, setDiffs] = useState(false);
  const [list, setList] = useState(false);
  const [phase, setPhase] = useState<'review' | 'erase' | 'confirm'>('review');
  const [confirmed, setConfirmed] = useState(0);
  useInput(
    (input, key) => {
      if (input === 'd') setDiffs((d) => !d);
      else if (input === 'c') setList((l) => !l);
      else if (key.escape || input === 'b') props.onBack();
      else if (key.return) setPhase(props.erase.length > 0 ? 'erase' : 'confirm');
    },
    { isActive: phase === 'review' },
  );
  const disk = props.erase[confirmed];
  return (
    <Box flexDirection="column">
      <Title step="4/6">The plan</Title>
      <PlanSummary comparison={props.comparison} diffs={diffs} {...(props.changes ? { changes: props.changes } : {})} listChanges={list} />
      {props.warnings?.map((w, i) => (
        <Text key={i} color="yellow">
          ! {w}
        </Text>
      ))}
      <Box marginTop={1} flexDirection="column">
        {phase === 'review' ? (
          <Text dimColor>
            d {diffs ? 'hide' : 'show'} the diffs · c {list ? 'hide' : 'list'} the changes · Enter continue · Esc back to the layout
          </Text>
        ) : phase === 'erase' && disk ? (
          <TypeToConfirm
            key={disk.node}
            prompt={`${disk.node}: ${disk.disk} holds data (${disk.reasons.join('; ') || 'not blank'}). Applying ERASES everything on it.`}
            expected={disk.name}
            onConfirm={() => (confirmed + 1 >= props.erase.length ? setPhase('confirm') : setConfirmed(confirmed + 1))}
            onCancel={() => {
              setConfirmed(0);
              setPhase('review');
            }}
          />
        ) : (
          <YesNo
            question={`Apply this plan to ${props.comparison.nodes.map((n) => n.name).join(', ')}?`}
            onAnswer={(yes) => {
              if (yes) props.onApply();
              else {
                setConfirmed(0);
                setPhase('review');
              }
            }}
          />
        )}
      </Box>
    </Box>
  );
}
