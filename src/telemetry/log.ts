// Logs in ztunnel's shape: "<time> <level> <target> <message> key=value ...", one line each,
// on stderr. Every logger has a target named like ztunnel's (`hbone::pool`, `proxy::inbound`,
// `waypoint`, `ztunnel::node-a`, `app::<pod>`).
//
// HBONE_LOG chooses what is written, as RUST_LOG does for ztunnel (tracing's EnvFilter):
// comma-separated directives, each either a level, which is the default for every target, or
// `target=level`. A target covers itself and the targets below it (`hbone` covers `hbone::pool`
// and `hbone::server`, not `hbonex`); the most specific target that matches wins, and a later
// directive for the same target replaces an earlier one. A bare target (`hbone::pool`) enables
// everything it logs. Levels: off, error, warn, info, debug (trace means debug: nothing here logs
// finer). Default: info. A directive it cannot read is reported once on stderr and ignored, as
// EnvFilter does. Examples:
//   HBONE_LOG=debug                                  everything
//   HBONE_LOG=hbone::pool=debug,waypoint=info,warn   the pool's debug lines, the waypoint's info, warn elsewhere
//   HBONE_LOG=off,ztunnel=error                      only ztunnel's errors

export type Level = 'error' | 'warn' | 'info' | 'debug';
type Threshold = Level | 'off';
const RANK: Record<Threshold, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 };
/** Level names RUST_LOG accepts that mean one of ours. */
const ALIASES: Record<string, Threshold> = { trace: 'debug' };
const DEFAULT_LEVEL: Threshold = 'info';
/** Where a target's children begin: `hbone::pool` is below `hbone`. */
const TARGET_SEPARATOR = '::';
const ENV = 'HBONE_LOG';

export type Fields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  error(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
  enabled(level: Level): boolean;
}

export interface LogFilter {
  readonly defaultLevel: Threshold;
  /** Target to level. */
  readonly targets: ReadonlyMap<string, Threshold>;
  /** Directives that could not be read, with why. */
  readonly problems: readonly string[];
}

function levelNamed(text: string): Threshold | undefined {
  const name = text.trim().toLowerCase();
  if (Object.hasOwn(RANK, name)) return name as Threshold;
  return Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined;
}

/** Reads a HBONE_LOG value; never throws. */
export function parseLogFilter(spec: string): LogFilter {
  let defaultLevel = DEFAULT_LEVEL;
  const targets = new Map<string, Threshold>();
  const problems: string[] = [];
  for (const raw of spec.split(',')) {
    const directive = raw.trim();
    if (directive === '') continue;
    const eq = directive.indexOf('=');
    const target = (eq < 0 ? directive : directive.slice(0, eq)).trim();
    const levelText = eq < 0 ? undefined : directive.slice(eq + 1);
    if (levelText === undefined && levelNamed(target) !== undefined) {
      defaultLevel = levelNamed(target)!;
      continue;
    }
    if (!/^[A-Za-z0-9_.-]+(::[A-Za-z0-9_.-]+)*$/.test(target)) {
      const why = target === '' ? 'no target before =' : 'a target is names joined by :: (spans and fields are not supported)';
      problems.push(`${JSON.stringify(directive)}: ${why}`);
      continue;
    }
    const level = levelText === undefined ? 'debug' : levelNamed(levelText);
    if (level === undefined) {
      problems.push(`${JSON.stringify(directive)}: unknown level ${JSON.stringify(levelText)} (levels: off, error, warn, info, debug, trace)`);
      continue;
    }
    targets.set(target, level); // a later directive for the target replaces an earlier one
  }
  return { defaultLevel, targets, problems };
}

/** The level a filter sets for a target: the longest directive target that is it or above it. */
export function levelFor(filter: LogFilter, target: string): Threshold {
  let best: { length: number; level: Threshold } | undefined;
  for (const [t, level] of filter.targets) {
    const covers = target === t || target.startsWith(t + TARGET_SEPARATOR);
    if (covers && (!best || t.length > best.length)) best = { length: t.length, level };
  }
  return best ? best.level : filter.defaultLevel;
}

/** The filter of the current HBONE_LOG, read again only when the variable changes (tests set it). */
let cached: { spec: string; filter: LogFilter; ranks: Map<string, number> } | undefined;

function rankFor(target: string): number {
  const spec = process.env[ENV] ?? '';
  if (cached?.spec !== spec) {
    const filter = parseLogFilter(spec);
    for (const p of filter.problems) process.stderr.write(`${ENV}: ignoring ${p}\n`);
    cached = { spec, filter, ranks: new Map() };
  }
  let rank = cached.ranks.get(target);
  if (rank === undefined) {
    rank = RANK[levelFor(cached.filter, target)];
    cached.ranks.set(target, rank);
  }
  return rank;
}

function formatValue(v: string | number | boolean): string {
  const s = String(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

export function formatFields(fields: Fields | undefined): string {
  if (!fields) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null) parts.push(`${k}=${formatValue(v)}`);
  return parts.join(' ');
}

/** Fields on every line of this process: a proxy's worker names itself, as Envoy's log lines name their thread. */
let processFields = '';

/** Every later line of this process says which worker wrote it (`worker=1`). */
export function logAsWorker(id: number): void {
  processFields = formatFields({ worker: id });
}

/** A logger for one target, named like ztunnel's (`hbone::server`, `access`, `proxy::inbound`). */
export function logger(target: string, sink: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const at = (level: Level) => (msg: string, fields?: Fields) => {
    if (RANK[level] > rankFor(target)) return;
    const own = formatFields(fields);
    const rest = processFields === '' ? own : own === '' ? processFields : `${own} ${processFields}`;
    sink(`${new Date().toISOString()}\t${level}\t${target}\t${msg}${rest ? '\t' + rest : ''}`);
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    enabled: (level) => RANK[level] <= rankFor(target),
  };
}
