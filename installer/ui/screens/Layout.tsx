/**
 * The proposed layout, every value editable: ↑/↓ choose a field, Enter edits it, Enter again keeps
 * the new value once it passes the answer-file checks (the same messages as `hvcluster plan`).
 */
import { Box, Text, useInput } from 'ink';
import React, { useMemo, useState } from 'react';
import type { Answers } from '../../answers/schema.js';
import { humanBytes } from '../../facts/format.js';
import { factValue, type ServerFacts } from '../../facts/types.js';
import { holdsVolumeGroup } from '../../plan/check-facts.js';
import { checkLayout, layoutDisk, type Layout, type NodeLayout, type ServerLogin } from '../../plan/propose.js';
import { Question, Title } from '../components.js';

export interface LayoutField {
  /** The answer-file key path the field's messages are about. */
  path: string;
  label: string;
  node?: number;
  get: (layout: Layout) => string;
  set: (layout: Layout, value: string, facts: ServerFacts[]) => Layout;
}

function nodeField(i: number, key: keyof NodeLayout, path: string, label: string): LayoutField {
  return {
    path: `spec.nodes[${i}].${path}`,
    label,
    node: i,
    get: (layout) => String(layout.nodes[i]![key]),
    set: (layout, value, facts) => {
      const node: NodeLayout = { ...layout.nodes[i]!, [key]: value };
      if (key === 'disk') {
        // A disk holding data is erased only after its name has been typed on the plan screen.
        const disk = layoutDisk(facts[i]!, value);
        node.wipe = disk !== null && !disk.verdict.blank && !holdsVolumeGroup(disk, 'hvdata', factValue(facts[i]!.lvm));
      }
      return { ...layout, nodes: layout.nodes.map((n, j) => (j === i ? node : n)) };
    },
  };
}

export function layoutFields(count: number): LayoutField[] {
  const fields: LayoutField[] = [
    { path: 'metadata.name', label: 'cluster name', get: (l) => l.cluster, set: (l, v) => ({ ...l, cluster: v }) },
  ];
  for (let i = 0; i < count; i++) {
    fields.push(
      nodeField(i, 'name', 'name', 'node name'),
      nodeField(i, 'disk', 'storage.disk', 'data disk'),
      nodeField(i, 'managementInterface', 'management.interface', 'management NIC'),
      nodeField(i, 'managementAddress', 'management.address', 'management address'),
      nodeField(i, 'gateway', 'management.gateway', 'gateway'),
      nodeField(i, 'replicationInterface', 'replication.interface', 'replication NIC'),
      nodeField(i, 'replicationAddress', 'replication.address', 'replication address'),
    );
  }
  fields.push(
    { path: 'spec.network.bridge', label: 'bridge for guests', get: (l) => l.bridge, set: (l, v) => ({ ...l, bridge: v }) },
    {
      path: 'spec.packages',
      label: 'packages from',
      get: (l) => l.packages,
      set: (l, v) => ({ ...l, packages: v }),
    },
  );
  return fields;
}

function issuesUnder(byPath: Map<string, { severity: string; message: string }[]>, path: string) {
  return [...byPath].filter(([key]) => key === path || key.startsWith(`${path}.`)).flatMap(([, issues]) => issues);
}

export interface LayoutScreenProps {
  initial: Layout;
  logins: ServerLogin[];
  facts: ServerFacts[];
  /** Messages about the layout from a failed plan (the servers do not fit), shown at the top. */
  notice?: string[];
  onDone: (layout: Layout, answers: Answers) => void;
}

export function LayoutScreen(props: LayoutScreenProps) {
  const [layout, setLayout] = useState(props.initial);
  const [cursor, setCursor] = useState(0);
  const [editing, setEditing] = useState(false);
  const [tried, setTried] = useState(false);
  const fields = useMemo(() => layoutFields(props.initial.nodes.length), [props.initial.nodes.length]);
  const check = useMemo(() => checkLayout(layout, props.logins, props.facts), [layout, props.logins, props.facts]);
  const errors = check.issues.filter((i) => i.severity === 'error');
  const onContinue = cursor === fields.length;

  useInput(
    (_input, key) => {
      if (key.upArrow) setCursor((c) => Math.max(0, c - 1));
      else if (key.downArrow) setCursor((c) => Math.min(fields.length, c + 1));
      else if (key.return) {
        if (onContinue) {
          setTried(true);
          if (check.answers) props.onDone(layout, check.answers);
        } else setEditing(true);
      }
    },
    { isActive: !editing },
  );

  const field = fields[cursor];
  return (
    <Box flexDirection="column">
      <Title step="3/6">The proposed layout</Title>
      {props.notice?.map((line, i) => (
        <Text key={i} color="red">
          {line}
        </Text>
      ))}
      {fields.map((f, index) => {
        const issues = issuesUnder(check.byPath, f.path);
        const selected = index === cursor;
        const header = f.node !== undefined && f.label === 'node name' ? `server ${f.node + 1} (${props.logins[f.node]!.address})` : null;
        const value = f.get(layout);
        const wipe = f.path.endsWith('storage.disk') && layout.nodes[f.node!]!.wipe;
        return (
          <Box key={f.path} flexDirection="column">
            {header ? <Text color="cyan">{header}</Text> : null}
            <Box>
              <Text color={selected ? 'cyan' : undefined}>{selected ? '❯ ' : '  '}</Text>
              <Text>{`${f.node !== undefined ? '  ' : ''}${f.label}`.padEnd(24)}</Text>
              {selected && editing ? null : <Text bold={selected}>{value === '' ? '(none)' : value}</Text>}
              {wipe && !(selected && editing) ? <Text color="red"> holds data: it will be ERASED</Text> : null}
            </Box>
            {selected && editing && field ? (
              <Box marginLeft={4} flexDirection="column">
                <Question
                  label={`${f.label}:`}
                  defaultValue={value}
                  hint={f.path === 'spec.packages' ? '"online", or the directory of offline .deb files on the servers' : 'Enter keeps it, Esc cancels'}
                  validate={(v) => {
                    const next = field.set(layout, v, props.facts);
                    const found = issuesUnder(checkLayout(next, props.logins, props.facts).byPath, f.path).filter((i) => i.severity === 'error');
                    return found[0]?.message ?? null;
                  }}
                  onSubmit={(v) => {
                    setLayout(field.set(layout, v, props.facts));
                    setEditing(false);
                  }}
                  onCancel={() => setEditing(false)}
                />
                {f.path.endsWith('storage.disk') ? <DiskList facts={props.facts[f.node!]!} /> : null}
              </Box>
            ) : null}
            {issues.map((issue, i) => (
              <Text key={i} color={issue.severity === 'error' ? 'red' : 'yellow'}>
                {'      '}
                {issue.severity === 'error' ? '✗' : '!'} {issue.message}
              </Text>
            ))}
          </Box>
        );
      })}
      <Box marginTop={1}>
        <Text color={onContinue ? 'cyan' : undefined}>{onContinue ? '❯ ' : '  '}</Text>
        <Text bold={onContinue}>Continue to the plan</Text>
        {errors.length > 0 ? <Text color={tried ? 'red' : 'gray'}> ({errors.length} problem{errors.length === 1 ? '' : 's'} to correct first)</Text> : null}
      </Box>
      {tried && errors.length > 0
        ? errors
            .filter((e) => !fields.some((f) => issuesUnder(check.byPath, f.path).includes(e)))
            .map((e, i) => (
              <Text key={i} color="red">
                {'  ✗ '}
                {e.message}
              </Text>
            ))
        : null}
      <Text dimColor>↑/↓ choose · Enter edit · the values are checked like an answer file</Text>
    </Box>
  );
}

function DiskList(props: { facts: ServerFacts }) {
  const disks = (factValue(props.facts.disks) ?? []).filter((d) => d.type === 'disk');
  return (
    <Box flexDirection="column">
      {disks.map((d) => (
        <Text key={d.path} dimColor={!d.verdict.blank}>
          {'  '}
          {d.byIdPaths[0] ?? d.path} {humanBytes(d.sizeBytes)} {d.verdict.blank ? 'blank' : `not blank: ${d.verdict.reasons[0] ?? ''}`}
        </Text>
      ))}
    </Box>
  );
}
