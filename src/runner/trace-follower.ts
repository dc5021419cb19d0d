// `trace --follow`: every request through the held mesh told hop by hop as it happens, as the
// scenario's expectations are, for traffic the runner did not make itself (a curl from `exec`,
// a client on a pod's SOCKS5 address, autocannon through a port capture). A request is told
// once its source ztunnel logged it (when its connection closed) and the other hops have had a
// moment to log theirs. Bounded: requests waiting to be told are capped per follower, at most
// MAX_PER_SECOND are told a second, and a follower that reads slowly is skipped; what was
// skipped is said, so a reader under load knows it sees a sample.
import type { Scenario } from '../mesh/model';
import { AccessRecord, AccessRecords } from './access-records';
import { requestStory, storyKindOf, storySource, storyText, STORY_WINDOW_MS } from './request-story';

/** The other hops' records arrive within this of the source ztunnel's. */
export const SETTLE_MS = 300;
export const MAX_PENDING = 256;
export const MAX_PER_SECOND = 20;
export const MAX_FOLLOWERS = 16;

export interface FollowOptions {
  /** Only requests from this pod. */
  readonly pod?: string;
  /** One JSON object a request (the raw records of every hop) instead of lines. */
  readonly json?: boolean;
}

/** Where a follower's text goes; false when the reader is behind (the next ones are skipped until it catches up). */
export type TraceSink = (text: string) => boolean;

interface Follower {
  readonly options: FollowOptions;
  readonly sink: TraceSink;
  pending: number;
  /** This second's counts, for the sampling note. */
  told: number;
  skipped: number;
  behind: boolean;
}

export class TooManyFollowers extends Error {
  override name = 'TooManyFollowers';
}

export class TraceFollower {
  private readonly followers = new Set<Follower>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopListening?: () => void;
  /** Ends this follower set's hold on the proxies' trace records (line-readers.ts). */
  private stopReading?: () => void;
  private ticker?: NodeJS.Timeout;

  constructor(
    private readonly records: AccessRecords,
    private readonly scenario: () => Scenario,
    /** Asks the proxies for their trace records while anyone follows; returns how to stop asking. */
    private readonly reading: () => () => void = () => () => undefined,
  ) {}

  /** Starts telling requests to `sink`; returns how to stop. */
  follow(options: FollowOptions, sink: TraceSink): () => void {
    if (this.followers.size >= MAX_FOLLOWERS) throw new TooManyFollowers(`at most ${MAX_FOLLOWERS} trace --follow at once`);
    const f: Follower = { options, sink, pending: 0, told: 0, skipped: 0, behind: false };
    this.followers.add(f);
    if (this.followers.size === 1) {
      this.stopReading = this.reading();
      this.stopListening = this.records.onRecord((r) => this.onRecord(r));
      this.ticker = setInterval(() => this.tick(), 1000);
      this.ticker.unref();
    }
    return () => this.unfollow(f);
  }

  /** Requests waiting to be told, across followers (for tests of the bound). */
  get pending(): number {
    return [...this.followers].reduce((n, f) => n + f.pending, 0);
  }

  close(): void {
    for (const f of [...this.followers]) this.unfollow(f);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private unfollow(f: Follower): void {
    this.followers.delete(f);
    if (this.followers.size > 0) return;
    this.stopListening?.();
    this.stopListening = undefined;
    this.stopReading?.();
    this.stopReading = undefined;
    if (this.ticker) clearInterval(this.ticker);
  }

  private onRecord(r: AccessRecord): void {
    const kind = storyKindOf(this.scenario(), r);
    if (!kind) return;
    for (const f of this.followers) {
      if (f.options.pod && storySource(kind, r) !== f.options.pod) continue;
      if (f.behind || f.pending >= MAX_PENDING || f.told + f.pending >= MAX_PER_SECOND) {
        f.skipped++;
        continue;
      }
      f.pending++;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        f.pending--;
        if (this.followers.has(f)) this.tell(f, r);
      }, SETTLE_MS);
      this.timers.add(timer);
    }
  }

  private tell(f: Follower, start: AccessRecord): void {
    const story = requestStory(this.scenario(), this.records.since(start.at - STORY_WINDOW_MS), start);
    if (!story) return;
    const text = f.options.json ? JSON.stringify(story.json) + '\n' : storyText(story, new Date());
    f.told++;
    if (!f.sink(text)) f.behind = true;
  }

  /** Each second: say what was skipped, and let a reader that caught up have traces again. */
  private tick(): void {
    for (const f of this.followers) {
      if (f.skipped > 0) {
        const note = `sampling: told ${f.told} of ${f.told + f.skipped} requests in the last second (at most ${MAX_PER_SECOND} a second${f.behind ? ', and the reader was behind' : ''})`;
        f.sink(f.options.json ? JSON.stringify({ sampling: note }) + '\n' : `# ${note}\n\n`);
      }
      f.told = 0;
      f.skipped = 0;
    }
  }

  /** A reader that was behind has drained its backlog. */
  caughtUp(sink: TraceSink): void {
    for (const f of this.followers) if (f.sink === sink) f.behind = false;
  }
}
