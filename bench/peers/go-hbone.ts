// The Go HBONE terminator (bench/peers/go/hbone-server.go) as ztunnel B's peer: built offline at
// suite start against Debian's golang-golang-x-net-dev (GO111MODULE=off, GOPATH its gocode tree)
// into a cache directory keyed by the source and the compiler, so a second run reuses it; never
// committed. Started with the same mesh certificates, windows and frame size as our HBONE server.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import type { TlsMaterial } from '../../src/identity/workload-cert';
import { CONNECTION_WINDOW_BYTES, MAX_FRAME_BYTES, SERVER_MAX_CONCURRENT_STREAMS, STREAM_WINDOW_BYTES } from '../../src/hbone/constants';
import { PeerChild } from './child';
import { findExecutable, isExecutable } from './executable';

/** GO=PATH builds with another Go toolchain (a path that is not executable skips the job). */
export const ENV_GO = 'GO';
/** HBONE_PEERS_GOPATH=DIR: where golang.org/x/net is found (Debian's gocode tree by default). */
export const ENV_GOPATH = 'HBONE_PEERS_GOPATH';
const DEBIAN_GOPATH = '/usr/share/gocode';
export const GO_PACKAGES = 'golang-go golang-golang-x-net-dev';
const SOURCE_NAME = path.join('go', 'hbone-server.go');
/** The Go source: beside this file when run from the repository's bench/peers, or back there from dist/bench/peers. */
const SOURCE =
  [path.join(__dirname, SOURCE_NAME), path.resolve(__dirname, '..', '..', '..', 'bench', 'peers', SOURCE_NAME)].find((f) => fs.existsSync(f)) ??
  path.join(__dirname, SOURCE_NAME);
const CACHE_DIR = path.join(os.tmpdir(), 'hbone-sim-peers-go');
const BUILD_TIMEOUT_MS = 180_000;
const READY_TIMEOUT_MS = 10_000;
/** One thread runs Go code, as one Node thread runs ours (the runtime's other threads still count in its CPU). */
export const GO_MAXPROCS = 1;

export interface GoToolchain {
  readonly go: string;
  readonly gopath: string;
  readonly version: string;
}

/** The Go toolchain and x/net to build with, or why there are none. */
export function findGo(override = process.env[ENV_GO], gopath = process.env[ENV_GOPATH] ?? DEBIAN_GOPATH): GoToolchain | { missing: string } {
  const go = override ?? findExecutable('go');
  if (override !== undefined && !isExecutable(override)) return { missing: `${ENV_GO}=${override} is not an executable` };
  if (!go) return { missing: `go not found (apt-get install ${GO_PACKAGES})` };
  if (!fs.existsSync(path.join(gopath, 'src', 'golang.org', 'x', 'net', 'http2', 'server.go')))
    return { missing: `golang.org/x/net/http2 not found under ${gopath} (apt-get install golang-golang-x-net-dev)` };
  if (!fs.existsSync(SOURCE)) return { missing: `the Go server's source ${SOURCE} is missing` };
  let version: string;
  try {
    version = execFileSync(go, ['version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (err) {
    return { missing: `${go} version failed: ${(err as Error).message}` };
  }
  return { go, gopath, version };
}

/** "go1.19.8 x/net 0.7.0": what the report names the peer. */
export function peerName(tc: GoToolchain): string {
  const go = /\b(go\d+(?:\.\d+)*)/.exec(tc.version)?.[1] ?? 'go';
  return `Go ${go.slice(2)} x/net/http2${xNetVersion(tc.gopath)}`;
}

/** Debian's package version of x/net, when dpkg knows it. */
function xNetVersion(gopath: string): string {
  if (gopath !== DEBIAN_GOPATH) return '';
  try {
    const v = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'golang-golang-x-net-dev'], { encoding: 'utf8', timeout: 5000 }).trim();
    return v ? ` ${v.replace(/^\d+:/, '').replace(/[+-].*$/, '')}` : '';
  } catch {
    return '';
  }
}

/** Builds the server once per source and toolchain; resolves with the binary's path. */
export async function buildGoServer(tc: GoToolchain): Promise<string> {
  const source = fs.readFileSync(SOURCE);
  const key = crypto.createHash('sha256').update(source).update(tc.version).update(tc.gopath).digest('hex').slice(0, 16);
  const binary = path.join(CACHE_DIR, `hbone-server-${key}`);
  if (isExecutable(binary)) return binary;
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  // Built under a unique name and renamed: two benches building at once never run half a file.
  const partial = `${binary}.${process.pid}.partial`;
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: tc.gopath,
    GOCACHE: path.join(CACHE_DIR, 'gocache'),
    GOPROXY: 'off',
    GOFLAGS: '',
    CGO_ENABLED: '0',
  };
  await new Promise<void>((resolve, reject) =>
    execFile(tc.go, ['build', '-o', partial, SOURCE], { env, timeout: BUILD_TIMEOUT_MS, cwd: CACHE_DIR }, (err, _out, stderr) =>
      err ? reject(new Error(`go build failed: ${(stderr || err.message).trim().slice(-800)}`)) : resolve(),
    ),
  );
  fs.renameSync(partial, binary);
  return binary;
}

export interface GoServerSetup {
  readonly binary: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** The identity ztunnel B presents for the destination pod: the Go server presents the same. */
  readonly tls: TlsMaterial;
  /** A directory for its certificate files, removed by the caller. */
  readonly dir: string;
}

export function goServerArgs(s: GoServerSetup, files: { cert: string; key: string; ca: string }): string[] {
  return [
    `-listen=${s.listen.host}:${s.listen.port}`,
    `-cert=${files.cert}`,
    `-key=${files.key}`,
    `-ca=${files.ca}`,
    `-stream-window=${STREAM_WINDOW_BYTES}`,
    `-connection-window=${CONNECTION_WINDOW_BYTES}`,
    `-max-frame=${MAX_FRAME_BYTES}`,
    `-max-streams=${SERVER_MAX_CONCURRENT_STREAMS}`,
  ];
}

export function startGoServer(s: GoServerSetup): Promise<PeerChild> {
  const files = { cert: path.join(s.dir, 'go-cert-chain.pem'), key: path.join(s.dir, 'go-key.pem'), ca: path.join(s.dir, 'go-root-cert.pem') };
  fs.writeFileSync(files.cert, s.tls.cert);
  fs.writeFileSync(files.key, s.tls.key, { mode: 0o600 });
  fs.writeFileSync(files.ca, s.tls.ca);
  return PeerChild.start({
    name: 'go-hbone',
    command: s.binary,
    args: goServerArgs(s, files),
    env: { GOMAXPROCS: String(GO_MAXPROCS) },
    ready: (out) => /^ready /m.test(out),
    timeoutMs: READY_TIMEOUT_MS,
  });
}
