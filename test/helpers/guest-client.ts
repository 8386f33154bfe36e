/**
 * A client that keeps reading from a guest while the test moves it: a small Node process inside the
 * lab's network namespace (where the guests' addresses are reachable) fetching the guest's page
 * every 100 ms (a new connection each); stopped by its PID, it reports how many requests were
 * answered and when, so the test finds the longest time without an answer around a migration (the
 * downtime a user of the guest saw), as the migration test's own client does.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ClientFigures {
  requests: number;
  answers: number;
  /** When each answer came (epoch ms). */
  answerTimes: number[];
}

const CLIENT = `
const http = require('node:http');
const [url] = process.argv.slice(1);
let requests = 0, answers = 0; const times = [];
function once() {
  requests++;
  const req = http.get(url, { timeout: 1000, agent: false, headers: { connection: 'close' } }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c));
    res.on('end', () => { if (res.statusCode === 200 && body.includes('boot=')) { times.push(Date.now()); answers++; } });
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => {});
}
const timer = setInterval(once, 100);
process.on('SIGTERM', () => { clearInterval(timer); process.stdout.write(JSON.stringify({ requests, answers, answerTimes: times }) + '\\n'); process.exit(0); });
`;

export class GuestClient {
  private readonly child: ChildProcess;
  private out = '';

  constructor(netns: string, address: string) {
    this.child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', CLIENT, `http://${address}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (c: Buffer) => (this.out += c.toString()));
  }

  /** Stops the client (SIGTERM to its PID) and returns what it saw. */
  async stop(): Promise<ClientFigures> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.exitCode === null) process.kill(this.child.pid!, 'SIGTERM');
    await exited;
    return JSON.parse(this.out.trim()) as ClientFigures;
  }
}
