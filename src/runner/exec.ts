// The runner's `kubectl exec`: asks a client pod (sleep) to make a request from inside the
// mesh, through its own pod's capture.
import * as http from 'node:http';
import { hostAddress } from '../mesh/model';
import { PORT_EXEC } from '../mesh/ports';
import { errorMessage } from '../error-message';

export interface ExecResult {
  readonly status: number; // 0 when no HTTP response came back
  readonly timeMs: number;
  readonly bytes?: number;
  readonly body?: string;
  readonly received?: string;
  readonly error?: string;
}

const EXEC_TIMEOUT_MS = 15_000;

export function execInPod(podIp: string, path: string, query: Record<string, string>): Promise<ExecResult> {
  const qs = new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: hostAddress(podIp), port: PORT_EXEC, path: `${path}?${qs}`, timeout: EXEC_TIMEOUT_MS, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExecResult);
        } catch (err) {
          reject(new Error(`exec in ${podIp} answered ${res.statusCode} with no JSON: ${errorMessage(err)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`exec in ${podIp} timed out after ${EXEC_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}
