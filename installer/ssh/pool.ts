/** Connecting to several servers at once, each failure reported on its own. */
import { connect, type ConnectOptions } from './connect.js';
import type { HostKeyPolicy, ServerConnection, SshTarget } from './types.js';

export type ConnectResult =
  | { target: SshTarget; ok: true; connection: ServerConnection }
  | { target: SshTarget; ok: false; error: unknown };

/** Connects to every target in parallel; one result per target, in the order given. */
export async function connectAll(targets: readonly SshTarget[], policy: HostKeyPolicy, options: ConnectOptions = {}): Promise<ConnectResult[]> {
  return Promise.all(
    targets.map(async (target): Promise<ConnectResult> => {
      try {
        return { target, ok: true, connection: await connect(target, policy, options) };
      } catch (error) {
        return { target, ok: false, error };
      }
    }),
  );
}

/** The connections of a run, by server name, closed together at the end. */
export class ConnectionPool {
  private readonly connections = new Map<string, ServerConnection>();

  constructor(
    private readonly policy: HostKeyPolicy,
    private readonly options: ConnectOptions = {},
  ) {}

  /** Connects to the targets not yet connected; returns the per-server results. */
  async connectAll(targets: readonly SshTarget[]): Promise<ConnectResult[]> {
    const results = await Promise.all(
      targets.map(async (target): Promise<ConnectResult> => {
        const existing = this.connections.get(target.name);
        if (existing) return { target, ok: true, connection: existing };
        try {
          const connection = await connect(target, this.policy, this.options);
          this.connections.set(target.name, connection);
          return { target, ok: true, connection };
        } catch (error) {
          return { target, ok: false, error };
        }
      }),
    );
    return results;
  }

  get(name: string): ServerConnection | undefined {
    return this.connections.get(name);
  }

  get size(): number {
    return this.connections.size;
  }

  async closeAll(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(all.map((c) => c.close()));
  }
}
