/** The servers' inventory side by side: system, CPU and virtualization, memory, disks, NICs. */
import { Box, Text } from 'ink';
import React from 'react';
import { humanBytes } from '../../facts/format.js';
import { factValue, type ServerFacts } from '../../facts/types.js';

function lines(facts: ServerFacts): { text: string; colour?: string }[] {
  const out: { text: string; colour?: string }[] = [];
  const os = factValue(facts.os);
  const kernel = factValue(facts.kernel);
  const cpu = factValue(facts.cpu);
  const virt = factValue(facts.virtualization);
  const memory = factValue(facts.memory);
  const drbd = factValue(facts.drbd);
  out.push({ text: os?.prettyName ?? os?.id ?? 'OS unknown' });
  if (kernel) out.push({ text: `kernel ${kernel.release}`, colour: 'gray' });
  out.push({ text: `${cpu?.threads ?? '?'} CPUs${cpu?.model ? ` ${cpu.model.slice(0, 24)}` : ''}` });
  out.push(
    virt?.kvmDevice
      ? { text: `KVM ok (${virt.cpuFlag ?? 'kvm'})`, colour: 'green' }
      : { text: 'no /dev/kvm: virtualization off?', colour: 'red' },
  );
  out.push({ text: `memory ${memory ? humanBytes(memory.totalBytes) : '?'}` });
  out.push({ text: `DRBD module ${drbd?.moduleVersion ?? 'missing'}`, colour: drbd?.moduleVersion ? undefined : 'red' });
  out.push({ text: 'disks:', colour: 'cyan' });
  for (const disk of (factValue(facts.disks) ?? []).filter((d) => d.type === 'disk')) {
    out.push({
      text: ` ${disk.name} ${humanBytes(disk.sizeBytes)} ${disk.verdict.blank ? 'blank' : disk.mountpoints.length > 0 || disk.children.some((c) => c.mountpoints.length > 0) ? 'in use' : 'has data'}`,
      colour: disk.verdict.blank ? 'green' : 'gray',
    });
  }
  out.push({ text: 'NICs:', colour: 'cyan' });
  for (const nic of (factValue(facts.network)?.nics ?? []).filter((n) => n.kind !== 'loopback' && n.kind !== 'virtual')) {
    const address = nic.addresses.find((a) => a.family === 'inet')?.cidr;
    const link = nic.carrier ? (nic.speedMbps ? `${nic.speedMbps / 1000}G` : 'up') : 'no link';
    out.push({ text: ` ${nic.name} ${link}${address ? ` ${address}` : ''}${nic.master ? ` in ${nic.master}` : ''}`, colour: nic.carrier ? undefined : 'gray' });
  }
  return out;
}

export function InventoryView(props: { servers: { label: string; facts: ServerFacts }[] }) {
  const width = Math.floor(Math.min(156, process.stdout.columns || 120) / Math.max(props.servers.length, 1)) - 1;
  return (
    <Box flexDirection="row">
      {props.servers.map((server) => (
        <Box key={server.label} flexDirection="column" width={width} borderStyle="single" paddingX={1}>
          <Text bold>
            {factValue(server.facts.hostname)?.nodeName ?? server.label} <Text dimColor>{server.label}</Text>
          </Text>
          {lines(server.facts).map((line, i) => (
            <Text key={i} color={line.colour} wrap="truncate-end">
              {line.text}
            </Text>
          ))}
        </Box>
      ))}
    </Box>
  );
}
