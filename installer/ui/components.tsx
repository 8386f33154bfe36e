/** Small building blocks shared by the wizard's screens. */
import { Box, Text, useInput } from 'ink';
import React, { useRef, useState } from 'react';
import { LineInput } from './line-input.js';
import { barParts } from '../output.js';

/** A question with a text answer, validated when Enter is pressed; the message stays until the answer is valid. */
export function Question(props: {
  label: string;
  defaultValue?: string;
  placeholder?: string;
  hint?: string;
  validate?: (value: string) => string | null;
  onSubmit: (value: string) => void;
  onCancel?: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  useInput((_input, key) => {
    if (key.escape) props.onCancel?.();
  });
  return (
    <Box flexDirection="column">
      <Box>
        <Text color="cyan">? </Text>
        <Text bold>{props.label} </Text>
        <LineInput
          defaultValue={props.defaultValue}
          placeholder={props.placeholder}
          onSubmit={(value) => {
            const trimmed = value.trim();
            const message = props.validate?.(trimmed) ?? null;
            setError(message);
            if (message === null) props.onSubmit(trimmed);
          }}
        />
      </Box>
      {error === null ? <Text dimColor>  {props.hint ? `${props.hint} · ` : ''}Ctrl-U clears</Text> : null}
      {error !== null ? <Text color="red">  ✗ {error}</Text> : null}
    </Box>
  );
}

/**
 * A choice among a few options: ↑/↓ move, Enter takes the one under the pointer (at first the
 * default, so Enter alone keeps it), Esc calls onBack. Looks like @inkjs/ui's Select, which has no
 * focused default and does not answer Enter on its preselected value.
 */
export function Choice(props: {
  label: string;
  options: ReadonlyArray<{ label: string; value: string }>;
  defaultValue?: string;
  hint?: string;
  onSelect: (value: string) => void;
  onBack?: () => void;
}) {
  const [focused, setFocused] = useState(() => Math.max(0, props.options.findIndex((o) => o.value === props.defaultValue)));
  // Keys of one read (a fast typist's ↓ and Enter) reach this handler before React renders again.
  const current = useRef(focused);
  const move = (to: number) => {
    current.current = Math.max(0, Math.min(props.options.length - 1, to));
    setFocused(current.current);
  };
  useInput((_input, key) => {
    if (key.upArrow) move(current.current - 1);
    else if (key.downArrow) move(current.current + 1);
    else if (key.return) props.onSelect(props.options[current.current]!.value);
    else if (key.escape) props.onBack?.();
  });
  return (
    <Box flexDirection="column">
      <Text bold>{props.label}</Text>
      {props.options.map((option, i) => (
        <Box key={option.value} gap={1} paddingLeft={i === focused ? 0 : 2}>
          {i === focused ? <Text color="blue">❯</Text> : null}
          <Text color={i === focused ? 'blue' : undefined}>{option.label}</Text>
        </Box>
      ))}
      {props.hint ? <Text dimColor>  {props.hint}</Text> : null}
    </Box>
  );
}

/** A question answered by typing one exact word (a disk name before it is erased). */
export function TypeToConfirm(props: { prompt: string; expected: string; onConfirm: () => void; onCancel: () => void }) {
  const [error, setError] = useState<string | null>(null);
  useInput((_input, key) => {
    if (key.escape) props.onCancel();
  });
  return (
    <Box flexDirection="column">
      <Text color="red">{props.prompt}</Text>
      <Box>
        <Text>Type </Text>
        <Text bold>{props.expected}</Text>
        <Text> to confirm (Esc to go back): </Text>
        <LineInput
          onSubmit={(value) => {
            if (value.trim() === props.expected) props.onConfirm();
            else setError(`"${value.trim()}" is not ${props.expected}; nothing will be erased until you type it exactly`);
          }}
        />
      </Box>
      {error !== null ? <Text color="red">  ✗ {error}</Text> : null}
    </Box>
  );
}

/** y / n, Enter = the default. */
export function YesNo(props: { question: string; defaultYes?: boolean; onAnswer: (yes: boolean) => void }) {
  useInput((input, key) => {
    if (/^y$/i.test(input)) props.onAnswer(true);
    else if (/^n$/i.test(input) || key.escape) props.onAnswer(false);
    else if (key.return) props.onAnswer(Boolean(props.defaultYes));
  });
  return (
    <Box>
      <Text color="cyan">? </Text>
      <Text bold>{props.question} </Text>
      <Text dimColor>{props.defaultYes ? '[Y/n]' : '[y/N]'}</Text>
    </Box>
  );
}

/** A fixed-width text progress bar (no measuring: the same in a test as on a terminal). */
export function Bar(props: { percent: number; width?: number }) {
  const { done, rest } = barParts(props.percent, props.width ?? 30);
  return (
    <Text>
      <Text color="green">{done}</Text>
      <Text dimColor>{rest}</Text>
      <Text> {props.percent.toFixed(1).padStart(5)}%</Text>
    </Text>
  );
}

export function Title(props: { step: string; children: React.ReactNode }) {
  return (
    <Box marginBottom={1}>
      <Text backgroundColor="blue" color="white"> hvcluster </Text>
      <Text dimColor> {props.step} </Text>
      <Text bold>{props.children}</Text>
    </Box>
  );
}
