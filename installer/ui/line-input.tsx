/**
 * A one-line text input. Its value lives in a ref, not only in React state: keys read at once (a paste
 * followed by Enter, a fast typist) reach the handler before React has rendered again, and Enter must
 * submit what was typed, not the value of the last render (as @inkjs/ui's TextInput does then).
 */
import { Text, useInput } from 'ink';
import React, { useReducer, useRef } from 'react';

export interface LineInputProps {
  defaultValue?: string;
  placeholder?: string;
  onSubmit: (value: string) => void;
}

/** What a key does to the line; pure, so the editing rules are tested without a terminal. */
export function editLine(
  line: { value: string; cursor: number },
  input: string,
  key: { return?: boolean; leftArrow?: boolean; rightArrow?: boolean; backspace?: boolean; delete?: boolean; ctrl?: boolean; meta?: boolean; home?: boolean; end?: boolean },
): { value: string; cursor: number; submit?: string } {
  const { value, cursor } = line;
  if (key.return) return { value, cursor, submit: value };
  if (key.leftArrow) return { value, cursor: Math.max(0, cursor - 1) };
  if (key.rightArrow) return { value, cursor: Math.min(value.length, cursor + 1) };
  if (key.home || (key.ctrl && input === 'a')) return { value, cursor: 0 };
  if (key.end || (key.ctrl && input === 'e')) return { value, cursor: value.length };
  if (key.ctrl && input === 'u') return { value: '', cursor: 0 };
  if (key.backspace || key.delete) return cursor === 0 ? line : { value: value.slice(0, cursor - 1) + value.slice(cursor), cursor: cursor - 1 };
  if (key.ctrl || key.meta || input === '') return line;
  // A paste may end with the Enter that was pressed with it.
  const newline = input.search(/[\r\n]/);
  const text = newline >= 0 ? input.slice(0, newline) : input;
  const next = { value: value.slice(0, cursor) + text + value.slice(cursor), cursor: cursor + text.length };
  return newline >= 0 ? { ...next, submit: next.value } : next;
}

export function LineInput(props: LineInputProps) {
  const line = useRef({ value: props.defaultValue ?? '', cursor: (props.defaultValue ?? '').length });
  const [, rendered] = useReducer((n: number) => n + 1, 0);
  useInput((input, key) => {
    if (key.upArrow || key.downArrow || key.tab || key.escape || (key.ctrl && input === 'c')) return;
    const next = editLine(line.current, input, key);
    line.current = { value: next.value, cursor: next.cursor };
    rendered();
    if (next.submit !== undefined) props.onSubmit(next.submit);
  });
  const { value, cursor } = line.current;
  if (value === '') {
    return (
      <Text>
        <Text inverse> </Text>
        {props.placeholder ? <Text dimColor>{props.placeholder}</Text> : null}
      </Text>
    );
  }
  return (
    <Text>
      {value.slice(0, cursor)}
      <Text inverse>{value[cursor] ?? ' '}</Text>
      {value.slice(cursor + 1)}
    </Text>
  );
}
