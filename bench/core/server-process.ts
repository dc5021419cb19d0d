// The parent's handle on the forked server process: start it, ask it for CPU time, stop it.
// A stop escalates to SIGKILL, and kill() is synchronous so exit and signal handlers can use it.
import { fork, ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { CpuSample, FromServer, ToServer } from './ipc';

const SERVER_ENTRY = path.join(__dirname, 'server.js');
const READY_TIMEOUT_MS = 30_000;
const CPU_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;
/** Node flags the server inherits from the parent, so `node --cpu-prof dist/bench/core/main.js` profiles both. */
const INHERITED_FLAGS = ['--cpu-prof', '--cpu-prof-dir', '--cpu-prof-interval'];
/** Of those, the ones that take a value. */
const VALUE_FLAGS = ['--cpu-prof-dir', '--cpu-prof-interval'];

/** The parent's profiling flags, with `--flag value` folded into `--flag=value`. */
function inheritedExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].split('=')[0];
    if (!INHERITED_FLAGS.includes(name)) continue;
    out.push(VALUE_FLAGS.includes(name) && !argv[i].includes('=') ? `${name}=${argv[++i]}` : argv[i]);
  }
  // Name the server's profile so it cannot be mistaken for the parent's.
  if (out.includes('--cpu-prof')) out.push(`--cpu-prof-name=CPU.server.${process.pid}.cpuprofile`);
  return out;
}

export interface ServerReady {
  readonly pid: number;
  readonly tcpPort: number;
  readonly tlsPort: number;
  readonly hbonePort: number;
  readonly spiffeId: string;
}

export class ServerProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (s: CpuSample) => void>();
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly ready: ServerReady,
  ) {
    this.exit = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => (this.exited = true));
    child.on('message', (msg: FromServer) => {
      if (msg.type !== 'cpu') return;
      this.waiting.get(msg.id)?.(msg.usage);
      this.waiting.delete(msg.id);
    });
  }

  static start(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
    const child = fork(SERVER_ENTRY, [], { env: { ...process.env, ...env }, execArgv: inheritedExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bench server did not start within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      const onExit = (code: number | null, signal: string | null): void => {
        clearTimeout(timer);
        reject(new Error(`bench server exited before it was ready (code ${code}, signal ${signal})`));
      };
      child.once('exit', onExit);
      child.once('message', (msg: FromServer) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        if (msg.type === 'ready') return resolve(new ServerProcess(child, msg));
        child.kill('SIGKILL');
        reject(new Error(`bench server failed: ${msg.type === 'failed' ? msg.error : JSON.stringify(msg)}`));
      });
    });
  }

  get pid(): number {
    return this.ready.pid;
  }

  /** The server's own process.cpuUsage(), read over IPC. */
  cpu(): Promise<CpuSample> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error('bench server has exited'));
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error('bench server did not report its CPU time'));
      }, CPU_TIMEOUT_MS);
      this.waiting.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.child.send({ type: 'cpu', id } satisfies ToServer);
    });
  }

  /** Asks the server to close its listeners and exit; kills it if it does not. */
  async stop(): Promise<void> {
    if (this.exited) return;
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToServer);
    const timer = setTimeout(() => this.kill(), STOP_TIMEOUT_MS);
    await this.exit;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
