// `-f <file|dir|->` as kubectl reads it: a file, every .yaml/.yml/.json file of a directory (in
// name order), or standard input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ManifestFile } from '../mesh/manifests';
import { MAX_SCENARIO_BYTES } from '../mesh/limits';
import { UsageError } from './args';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];
const STDIN = '-';

export function readManifestFiles(target: string): ManifestFile[] {
  if (target === STDIN) return [{ file: STDIN, text: bounded(fs.readFileSync(0, 'utf8'), STDIN) }];
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new UsageError(`the path "${target}" does not exist`);
  }
  const files = stat.isDirectory()
    ? fs
        .readdirSync(target)
        .filter((n) => MANIFEST_EXTENSIONS.includes(path.extname(n)))
        .sort()
        .map((n) => path.join(target, n))
    : [target];
  if (files.length === 0) throw new UsageError(`no .yaml, .yml or .json files in ${target}`);
  return files.map((file) => ({ file: path.relative(process.cwd(), file) || file, text: bounded(fs.readFileSync(file, 'utf8'), file) }));
}

function bounded(text: string, file: string): string {
  if (Buffer.byteLength(text) > MAX_SCENARIO_BYTES) throw new UsageError(`${file} is over ${MAX_SCENARIO_BYTES} bytes`);
  return text;
}
