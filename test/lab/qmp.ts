// A QEMU machine protocol (QMP) client for one command: the lab's way to act on a VM's hardware,
// e.g. to pull a NIC's cable (set_link), which a tap going down on the host does not do.
import { createConnection } from 'node:net';

export async function qmpCommand(socket: string, execute: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let buffer = '';
    let phase: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`QMP ${execute} on ${socket}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | null, value?: unknown) => {
      clearTimeout(timer);
      conn.end();
      if (error) reject(error);
      else resolve(value);
    };
    conn.on('error', (error) => finish(error));
    conn.on('data', (chunk) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        const message = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string };
        if (message.event) continue;
        if (phase === 'greeting' && message.QMP) {
          phase = 'capabilities';
          conn.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        } else if (phase === 'capabilities') {
          if (message.error) return finish(new Error(`QMP capabilities: ${message.error.desc}`));
          phase = 'command';
          conn.write(`${JSON.stringify({ execute, arguments: args })}\n`);
        } else if (phase === 'command') {
          if (message.error) return finish(new Error(`QMP ${execute}: ${message.error.desc}`));
          return finish(null, message.return);
        }
      }
    });
  });
}
