// Messages between the bench (parent) and its server process, over the fork() IPC channel,
// and the environment the parent hands the server.

/** Environment variables the server process reads. */
export const ENV_CA_DIR = 'BENCH_CA_DIR';
export const ENV_SERVER_IP = 'BENCH_SERVER_IP';
export const ENV_SERVER_SPIFFE_NS = 'BENCH_SERVER_NS';
export const ENV_SERVER_SPIFFE_SA = 'BENCH_SERVER_SA';

/** Files in BENCH_CA_DIR: the mesh root made by the parent, so both processes share one CA. */
export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';

export interface CpuSample {
  /** process.cpuUsage(), microseconds. */
  readonly user: number;
  readonly system: number;
}

export type ToServer = { readonly type: 'cpu'; readonly id: number } | { readonly type: 'stop' };

export type FromServer =
  | {
      readonly type: 'ready';
      readonly pid: number;
      readonly tcpPort: number;
      readonly tlsPort: number;
      readonly hbonePort: number;
      readonly spiffeId: string;
    }
  | { readonly type: 'cpu'; readonly id: number; readonly usage: CpuSample }
  | { readonly type: 'failed'; readonly error: string };
