// The primary of a proxy with worker threads (`--workers N`, N > 1): Envoy's main thread. It
// forks N node:cluster workers that serve the data path. Each worker listens as the single
// process does, and node:cluster makes the primary own every listening socket and hand accepted
// connections to the workers in turn (round robin on Linux), which is how Envoy's workers share
// a listener. The primary alone talks to istiod: every configuration istiod pushes is handed to
// each worker (the ACK waits until all took it, so `apply --wait` means every worker), and every
// worker's CSR goes to istiod's CA through it. The runner's messages (who reads the trace lines)
// are relayed to the workers, and the workers' stdout and stderr reach the runner through the
// primary, whole lines at a time, so two workers never interleave a record.
//
// A worker that does not take a push within CONFIG_WAIT_MS, or refuses one the primary took,
// is replaced before the ACK: no worker serves a configuration istiod was told is gone.
// A worker that dies is logged and started again at once: node:cluster stops handing it
// connections when it exits, so nothing is black-holed meanwhile, but its share of the capacity
// must come back. Envoy has no such respawn (a dead thread is a dead process): a worker that
// keeps dying (MAX_DEATHS within DEATH_WINDOW_MS) makes the whole process exit 1 instead, so
// the runner restarts it under its kubelet back-off. A primary that is SIGKILLed closes every
// worker's IPC channel, and a worker whose channel closes stops itself (src/cli/lifecycle.ts).
import cluster, { type Worker } from 'node:cluster';
import type { Readable, Writable } from 'node:stream';
import type { CsrSigner } from '../identity/workload-cert';
import type { TypeHandler } from '../xds/ads-client';
import type { TypeUrl, XdsResource } from '../xds/types';
import type { Logger } from '../telemetry/log';
import { errorMessage } from '../error-message';
import { ANSWER, ASK, CONFIG, CONFIG_APPLIED, ConfigMessage, CSR, HELLO, isWorkersMessage, PrimaryMessage, Question, READY, WorkerMessage } from './messages';

/** How long a push waits for every worker to take it before the ACK goes anyway. */
export const CONFIG_WAIT_MS = 2000;
/** How long the primary waits for a worker's answer (config dump, metrics). */
const ASK_TIMEOUT_MS = 3000;
/** A worker that keeps dying: this many deaths within the window end the process. */
export const MAX_DEATHS = 5;
const DEATH_WINDOW_MS = 60_000;
/** After a death, wait this long before the next worker: a stop may be under way (SIGTERM to the group). */
const RESPAWN_DELAY_MS = 100;
/** A worker's line longer than this without a newline is passed on as it is. */
const MAX_PARTIAL_LINE = 1024 * 1024;
/** Environment variable that tells a worker its number (0-based, as Envoy names worker_0). */
export const ENV_WORKER_ID = 'HBONE_WORKER_ID';

export interface PrimaryOptions {
  readonly count: number;
  readonly log: Logger;
  /** Called when workers keep dying: the process should exit non-zero. */
  readonly onGiveUp: (why: string) => void;
}

/** One worker thread's place: the process now in it, and what it told the primary. */
interface Slot {
  readonly id: number;
  worker?: Worker;
  /** It asked for the configuration; every push since goes to it. */
  helloed: boolean;
  /** The newest config message it took. */
  applied: number;
  ready: boolean;
  /** Times of its recent deaths, for MAX_DEATHS. */
  deaths: number[];
  /** Its pid and how often it was started, for /workers. */
  pid?: number;
  starts: number;
}

export interface WorkerStatus {
  readonly worker: number;
  readonly pid?: number;
  readonly ready: boolean;
  readonly starts: number;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly slot: Slot;
}

export class ProxyWorkers {
  private readonly slots: Slot[];
  /** Each type's last push, as a new worker must get it. */
  private readonly latest = new Map<TypeUrl, ConfigMessage>();
  private seq = 0;
  private waiters: Array<{ seq: number; done: () => void }> = [];
  private readonly asks = new Map<number, Pending>();
  private nextAsk = 1;
  /** The runner's last message of each kind, for a worker started later. */
  private readonly relayed = new Map<string, unknown>();
  private signer?: CsrSigner;
  private stopping = false;
  private started = false;

  constructor(private readonly options: PrimaryOptions) {
    this.slots = Array.from({ length: options.count }, (_, id) => ({ id, helloed: false, applied: 0, ready: false, deaths: [], starts: 0 }));
  }

  get count(): number {
    return this.slots.length;
  }

  /** Every worker is up and listening. */
  get ready(): boolean {
    return this.slots.every((s) => s.ready);
  }

  /** Each worker's place, for the admin's /workers. */
  status(): WorkerStatus[] {
    return this.slots.map((s) => ({ worker: s.id, pid: s.pid, ready: s.ready, starts: s.starts }));
  }

  /**
   * A handler that applies a type's push here (throwing refuses it: the primary NACKs what
   * its workers would refuse) and then hands it to every worker; the ADS client ACKs once they took it.
   */
  relay(handler: TypeHandler): TypeHandler {
    return {
      typeUrl: handler.typeUrl,
      apply: (resources, version) => {
        void handler.apply(resources, version);
        return this.push(handler.typeUrl, [...resources.values()], version);
      },
    };
  }

  /** Forks the workers; `signer` is istiod's CA for their CSRs (none when run alone on the CA on disk). */
  start(signer: CsrSigner | undefined): void {
    this.signer = signer;
    this.started = true;
    // Workers' stdio comes through the primary (whole lines), and Dates cross the channel as Dates.
    cluster.setupPrimary({ silent: true, serialization: 'advanced' });
    this.options.log.info(`starting ${this.count} workers`, { worker_threads: this.count });
    process.on('message', (m: unknown) => {
      if (isWorkersMessage(m)) return;
      const kind = (m as { kind?: unknown } | null)?.kind;
      if (typeof kind === 'string') this.relayed.set(kind, m);
      for (const s of this.slots) if (s.worker?.isConnected()) s.worker.send(m as object);
    });
    for (const slot of this.slots) this.fork(slot);
  }

  /** Asks one worker (the first that is ready) about its part. */
  async askOne(question: Question): Promise<unknown> {
    const slot = this.slots.find((s) => s.ready) ?? this.slots[0];
    return this.ask(slot, question);
  }

  /** Asks every ready worker; a worker that does not answer is left out (its slot says why). */
  async askAll(question: Question): Promise<Array<{ worker: number; value?: unknown; error?: string }>> {
    return Promise.all(
      this.slots.map((s) =>
        this.ask(s, question).then(
          (value) => ({ worker: s.id, value }),
          (err: Error) => ({ worker: s.id, error: err.message }),
        ),
      ),
    );
  }

  /** Stops every worker (SIGTERM: each drains as the single process does), SIGKILL after graceMs. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const w of this.waiters) w.done();
    this.waiters = [];
    await Promise.all(
      this.slots.map((s) => {
        const w = s.worker;
        if (!w || w.process.exitCode !== null || w.process.signalCode !== null) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const hard = setTimeout(() => w.process.kill('SIGKILL'), graceMs);
          w.process.once('close', () => {
            clearTimeout(hard);
            resolve();
          });
          w.process.kill('SIGTERM');
        });
      }),
    );
  }

  private push(typeUrl: TypeUrl, resources: XdsResource[], version: string): Promise<void> | undefined {
    const m: ConfigMessage = { kind: CONFIG, seq: ++this.seq, typeUrl, resources, version };
    this.latest.set(typeUrl, m);
    const told = this.slots.filter((s) => s.helloed && s.worker?.isConnected());
    for (const s of told) this.send(s, m);
    if (told.length === 0) return undefined;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        // A worker still on the old configuration must not serve on: it is replaced (its
        // successor takes the newest push before it listens), then the push is ACKed.
        for (const slot of this.slots.filter((x) => x.helloed && x.worker?.isConnected() && x.applied < m.seq))
          this.replace(slot, 'did not take a config push in time', { version, wait_ms: CONFIG_WAIT_MS });
        done();
      }, CONFIG_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ seq: m.seq, done });
      this.settle();
    });
  }

  /** Resolves the pushes every live, configured worker has taken. */
  private settle(): void {
    const live = this.slots.filter((s) => s.helloed && s.worker?.isConnected());
    this.waiters = this.waiters.filter((w) => {
      if (!live.every((s) => s.applied >= w.seq)) return true;
      w.done();
      return false;
    });
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork({ [ENV_WORKER_ID]: String(slot.id) });
    slot.worker = worker;
    slot.helloed = false;
    slot.applied = 0;
    slot.ready = false;
    slot.starts++;
    slot.pid = worker.process.pid;
    relayLines(worker.process.stdout, process.stdout);
    relayLines(worker.process.stderr, process.stderr);
    worker.on('message', (m: unknown) => this.onMessage(slot, worker, m as WorkerMessage));
    worker.on('error', (err) => this.options.log.debug('worker channel error', { worker: slot.id, error: err.message }));
    worker.process.once('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onMessage(slot: Slot, worker: Worker, m: WorkerMessage): void {
    if (slot.worker !== worker || !isWorkersMessage(m)) return;
    switch (m.kind) {
      case HELLO:
        slot.helloed = true;
        // In the order they were pushed, so `applied` (the highest taken) means every one before it.
        for (const c of [...this.latest.values()].sort((a, b) => a.seq - b.seq)) this.send(slot, c);
        for (const r of this.relayed.values()) worker.send(r as object);
        // A worker with nothing to take has taken everything so far.
        if (this.latest.size === 0) slot.applied = this.seq;
        break;
      case CONFIG_APPLIED:
        // The primary took it, so the worker should have: one that did not would serve the old
        // configuration (an AuthorizationPolicy not in force there). It is replaced.
        if (m.error) this.replace(slot, 'refused a config push its primary took', { error: m.error });
        else slot.applied = Math.max(slot.applied, Math.min(m.seq, this.seq));
        this.settle();
        break;
      case READY:
        slot.ready = true;
        this.options.log.info('worker ready', { worker: slot.id, pid: worker.process.pid, ready: `${this.slots.filter((s) => s.ready).length}/${this.count}` });
        break;
      case CSR:
        this.signCsr(slot, m.id, () => {
          if (!this.signer) throw new Error('no CA to sign with: this proxy runs without istiod');
          return this.signer.signCsr(m.csrPem, m.identity, m.options);
        });
        break;
      case ANSWER: {
        const p = this.asks.get(m.id);
        if (!p) break;
        this.asks.delete(m.id);
        clearTimeout(p.timer);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.value);
        break;
      }
    }
  }

  private signCsr(slot: Slot, id: number, sign: () => Promise<unknown>): void {
    Promise.resolve()
      .then(sign)
      .then(
        (value) => this.send(slot, { kind: ANSWER, id, value }),
        (err) => this.send(slot, { kind: ANSWER, id, error: errorMessage(err) }),
      );
  }

  private ask(slot: Slot, question: Question): Promise<unknown> {
    const worker = slot.worker;
    if (!worker?.isConnected() || !slot.ready) return Promise.reject(new Error(`worker ${slot.id} is not ready`));
    const id = this.nextAsk++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.asks.delete(id);
        reject(new Error(`worker ${slot.id} did not answer ${question} within ${ASK_TIMEOUT_MS} ms`));
      }, ASK_TIMEOUT_MS);
      this.asks.set(id, { resolve, reject, timer, slot });
      this.send(slot, { kind: ASK, id, question });
    });
  }

  private send(slot: Slot, m: PrimaryMessage): void {
    const w = slot.worker;
    if (!w?.isConnected()) return;
    try {
      w.send(m);
    } catch (err) {
      // The channel closed between the check and the send: its exit is handled there.
      this.options.log.debug('could not reach a worker', { worker: slot.id, error: errorMessage(err) });
    }
  }

  /** Kills a worker that cannot be trusted with the configuration in force; onExit starts another. */
  private replace(slot: Slot, why: string, fields: Record<string, unknown>): void {
    const worker = slot.worker;
    if (!worker) return;
    this.options.log.error(`worker ${why}; replacing it`, { worker: slot.id, pid: worker.process.pid, ...fields });
    // Out of the count now: the push it holds up is settled without it.
    slot.helloed = false;
    worker.process.kill('SIGKILL');
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.ready = false;
    slot.helloed = false;
    for (const [id, p] of this.asks) {
      if (p.slot !== slot) continue;
      this.asks.delete(id);
      clearTimeout(p.timer);
      p.reject(new Error(`worker ${slot.id} exited`));
    }
    this.settle();
    if (this.stopping || !this.started) return;
    const now = Date.now();
    slot.deaths = [...slot.deaths.filter((t) => now - t < DEATH_WINDOW_MS), now];
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (slot.deaths.length >= MAX_DEATHS) {
      this.options.log.error('worker keeps dying; stopping the proxy', { worker: slot.id, deaths: slot.deaths.length, within_ms: DEATH_WINDOW_MS });
      this.options.onGiveUp(`worker ${slot.id} died ${slot.deaths.length} times within ${DEATH_WINDOW_MS / 1000}s (last: ${how})`);
      return;
    }
    this.options.log.error('worker exited; its connections were reset; starting another', { worker: slot.id, pid: worker.process.pid, how });
    setTimeout(() => {
      if (!this.stopping) this.fork(slot);
    }, RESPAWN_DELAY_MS).unref();
  }
}

/**
 * Passes a worker's output on whole lines at a time (a line split across two reads waits for its
 * end), holding the worker back while the primary's own output is full.
 */
export function relayLines(from: Readable | null, to: Writable): void {
  if (!from) return;
  let partial: Buffer | undefined;
  from.on('data', (chunk: Buffer) => {
    const data = partial ? Buffer.concat([partial, chunk]) : chunk;
    const end = data.lastIndexOf(0x0a) + 1;
    const whole = end > 0 ? data.subarray(0, end) : data.length > MAX_PARTIAL_LINE ? data : undefined;
    partial = whole === data ? undefined : data.subarray(whole ? whole.length : 0);
    if (whole && !to.write(whole)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  from.on('end', () => {
    // A last line without its newline still ends: the next worker's line must not join it.
    if (partial?.length) to.write(Buffer.concat([partial, Buffer.from('\n')]));
    partial = undefined;
  });
}
