// A worker thread's side of its primary (primary.ts): it asks for the configuration istiod pushed
// so far and takes every later push with the same handlers a single process applies to its
// MeshState; its certificates are signed by istiod's CA through the primary (the key never
// leaves the worker); it answers the primary's questions about its own part (its config dump,
// its metrics) and says when its listeners are up.
import cluster from 'node:cluster';
import type { IssuedCertificate, IssueOptions } from '../identity/ca';
import type { SpiffeId } from '../identity/spiffe';
import type { CsrSigner } from '../identity/workload-cert';
import type { TypeHandler } from '../xds/ads-client';
import type { TypeUrl } from '../xds/types';
import { errorMessage } from '../error-message';
import { ANSWER, ASK, AnswerMessage, CONFIG, CONFIG_APPLIED, CSR, HELLO, isWorkersMessage, PrimaryMessage, Question, READY, WorkerMessage } from './messages';
import { ENV_WORKER_ID } from './primary';

/** How long a worker waits for the configuration, or for a certificate, from its primary. */
const PRIMARY_WAIT_MS = 15_000;

/** Whether this process is a worker of a proxy's primary. */
export function isProxyWorker(): boolean {
  return cluster.isWorker && process.env[ENV_WORKER_ID] !== undefined;
}

/** This worker's number (0-based). */
export function workerId(): number {
  return Number(process.env[ENV_WORKER_ID] ?? 0);
}

export class PrimaryLink {
  private readonly handlers: Map<TypeUrl, TypeHandler>;
  private readonly versions = new Map<TypeUrl, string>();
  private readonly csrs = new Map<number, { resolve: (c: IssuedCertificate) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextCsr = 1;
  private configuredResolve!: () => void;
  /** Resolves once every type has been received at least once (at once without types: a proxy run alone). */
  readonly configured = new Promise<void>((r) => (this.configuredResolve = r));
  /** Answers the primary's questions; set once the proxy is built. */
  answer?: (question: Question) => unknown;

  constructor(handlers: readonly TypeHandler[]) {
    this.handlers = new Map(handlers.map((h) => [h.typeUrl, h]));
    if (handlers.length === 0) this.configuredResolve();
    process.on('message', (m: unknown) => {
      if (isWorkersMessage(m)) this.onMessage(m as PrimaryMessage);
    });
    this.send({ kind: HELLO });
  }

  /** Waits for the first configuration, failing after PRIMARY_WAIT_MS. */
  async waitConfigured(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.configured,
        new Promise(
          (_r, reject) => (timer = setTimeout(() => reject(new Error(`no configuration from the primary within ${PRIMARY_WAIT_MS} ms`)), PRIMARY_WAIT_MS)),
        ),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The version of a type the worker took last, as the ADS client's versionOf. */
  versionOf(typeUrl: TypeUrl): string | undefined {
    return this.versions.get(typeUrl);
  }

  /** istiod's CA, reached through the primary. */
  readonly signer: CsrSigner = {
    signCsr: (csrPem: string, identity: SpiffeId, options: IssueOptions) =>
      new Promise<IssuedCertificate>((resolve, reject) => {
        const id = this.nextCsr++;
        const timer = setTimeout(() => {
          this.csrs.delete(id);
          reject(new Error(`the primary did not answer a CSR within ${PRIMARY_WAIT_MS} ms`));
        }, PRIMARY_WAIT_MS);
        this.csrs.set(id, { resolve, reject, timer });
        this.send({ kind: CSR, id, csrPem, identity, options });
      }),
  };

  /** Tells the primary this worker's listeners are up. */
  ready(): void {
    this.send({ kind: READY });
  }

  private onMessage(m: PrimaryMessage): void {
    switch (m.kind) {
      case CONFIG: {
        let error: string | undefined;
        try {
          const handler = this.handlers.get(m.typeUrl);
          if (handler) void handler.apply(new Map(m.resources.map((r) => [r.name, r])), m.version);
          this.versions.set(m.typeUrl, m.version);
        } catch (err) {
          error = errorMessage(err);
        }
        this.send({ kind: CONFIG_APPLIED, seq: m.seq, ...(error ? { error } : {}) });
        if ([...this.handlers.keys()].every((t) => this.versions.has(t))) this.configuredResolve();
        break;
      }
      case ASK:
        Promise.resolve()
          .then(() => {
            if (!this.answer) throw new Error('not started yet');
            return this.answer(m.question);
          })
          .then(
            (value) => this.send({ kind: ANSWER, id: m.id, value }),
            (err) => this.send({ kind: ANSWER, id: m.id, error: errorMessage(err) }),
          );
        break;
      case ANSWER:
        this.onCsrAnswer(m);
        break;
    }
  }

  private onCsrAnswer(m: AnswerMessage): void {
    const p = this.csrs.get(m.id);
    if (!p) return;
    this.csrs.delete(m.id);
    clearTimeout(p.timer);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.value as IssuedCertificate);
  }

  private send(m: WorkerMessage): void {
    if (process.connected) process.send!(m);
  }
}
