// Counting TIME_WAIT connections from /proc/net/tcp, the way the scale suite waits on them.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { timeWaitCount } from '../../bench/time-wait';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (i: number, st: string) => `   ${i}: 0100007F:D7D0 01035D7F:3AAD ${st} 00000000:00000000 03:00000271 00000000     0        0 0 3 00000000736a40bd`;

t.test('counts rows in state 06 across the files, skipping the header and missing files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbone-tw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const v4 = path.join(dir, 'tcp');
  const v6 = path.join(dir, 'tcp6');
  fs.writeFileSync(v4, [HEADER, row(0, '0A'), row(1, '06'), row(2, '01'), row(3, '06'), ''].join('\n'));
  fs.writeFileSync(v6, [HEADER, row(0, '06'), ''].join('\n'));
  t.equal(timeWaitCount([v4, v6]), 3);
  t.equal(timeWaitCount([v4, path.join(dir, 'absent')]), 2, 'a missing file (no IPv6) counts nothing');
  t.equal(timeWaitCount([path.join(dir, 'absent')]), 0);
});

t.test("this machine's count is a number", async (t) => {
  t.ok(Number.isInteger(timeWaitCount()) && timeWaitCount() >= 0);
});
