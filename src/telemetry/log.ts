// Logs in ztunnel's shape: "<time> <level> <target> <message> key=value ...", one line each,
// on stderr. HBONE_LOG sets the level (error, warn, info, debug; "off" silences everything).

export type Level = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<Level | 'off', number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 };

export type Fields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  error(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
  enabled(level: Level): boolean;
}

function threshold(): number {
  const configured = (process.env.HBONE_LOG ?? 'info').toLowerCase();
  return configured in RANK ? RANK[configured as Level] : RANK.info;
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

/** A logger for one target, named like ztunnel's (`hbone::server`, `access`, `proxy::inbound`). */
export function logger(target: string, sink: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const at = (level: Level) => (msg: string, fields?: Fields) => {
    if (RANK[level] > threshold()) return;
    const rest = formatFields(fields);
    sink(`${new Date().toISOString()}\t${level}\t${target}\t${msg}${rest ? '\t' + rest : ''}`);
  };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    enabled: (level) => RANK[level] <= threshold(),
  };
}
