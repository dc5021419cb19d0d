// The API server's line to istiod: new configuration goes over istiod's IPC channel; istiod
// answers with the push's version, then once every proxy has answered the push.
import type { Scenario } from '../mesh/model';
import { ConfigMessage, ISTIOD_NAME, PushedMessage, SyncedMessage } from '../mesh/control-plane';
import type { Supervisor, ChildHandle } from './supervisor';

/** istiod answers a push at once; its sync answer may take up to its own 10 s deadline. */
const PUSH_ANSWER_MS = 5_000;
const SYNC_ANSWER_MS = 15_000;
/** Requests in flight at once; the API server serves one change at a time anyway. */
const MAX_PENDING = 64;

export interface Push {
  readonly version: string;
  readonly synced: Promise<SyncedMessage>;
}

interface Pending {
  readonly pushed: (m: PushedMessage) => void;
  readonly synced: (m: SyncedMessage) => void;
  readonly fail: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class IstiodChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly supervisor: Supervisor) {
    supervisor.onMessage((child: ChildHandle, m: unknown) => {
      if (child.spec.name !== ISTIOD_NAME) return;
      const msg = m as Partial<PushedMessage | SyncedMessage>;
      const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
      if (!p) return;
      if (msg.kind === 'hbone-sim/pushed') p.pushed(msg as PushedMessage);
      else if (msg.kind === 'hbone-sim/synced') p.synced(msg as SyncedMessage);
    });
  }

  push(scenario: Scenario): Promise<Push> {
    const child = this.supervisor.child(ISTIOD_NAME);
    if (!child || !child.process.connected) return Promise.reject(new Error('istiod is not running'));
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new Error('too many changes waiting for istiod'));
    const id = this.nextId++;
    return new Promise<Push>((resolve, reject) => {
      let resolveSynced!: (m: SyncedMessage) => void;
      let rejectSynced!: (err: Error) => void;
      const synced = new Promise<SyncedMessage>((r, j) => ((resolveSynced = r), (rejectSynced = j)));
      // A caller that never waits for the sync must not leave an unhandled rejection behind.
      synced.catch(() => undefined);
      const done = () => {
        clearTimeout(p.timer);
        this.pending.delete(id);
      };
      const p: Pending = {
        pushed: (m) => {
          clearTimeout(p.timer);
          p.timer = setTimeout(() => p.fail(new Error(`istiod did not report the sync of ${m.version} within ${SYNC_ANSWER_MS} ms`)), SYNC_ANSWER_MS);
          resolve({ version: m.version, synced });
        },
        synced: (m) => {
          done();
          resolveSynced(m);
        },
        fail: (err) => {
          done();
          reject(err);
          rejectSynced(err);
        },
        timer: setTimeout(() => p.fail(new Error(`istiod did not answer within ${PUSH_ANSWER_MS} ms`)), PUSH_ANSWER_MS),
      };
      this.pending.set(id, p);
      child.process.send({ kind: 'hbone-sim/config', id, scenario } satisfies ConfigMessage, (err) => {
        if (err) p.fail(err);
      });
    });
  }

  close(): void {
    for (const p of [...this.pending.values()]) p.fail(new Error('the mesh is stopping'));
  }
}
