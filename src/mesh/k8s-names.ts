import { createHash } from 'node:crypto';

// Kubernetes naming rules, so a scenario only holds names a real cluster would accept (and
// SPIFFE IDs built from them parse, see src/identity/spiffe.ts).

// DNS-1123 label: namespaces.
const DNS_LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
// DNS-1035 label: Service names (must start with a letter, they become DNS names).
const DNS_1035_LABEL_RE = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
// DNS-1123 subdomain: pods, nodes, service accounts, policies, workloads.
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
// Label names (after an optional DNS-subdomain prefix and /) and label values.
const LABEL_NAME_RE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

export type NameKind = 'label' | 'service' | 'subdomain';

const RULES: Record<NameKind, { re: RegExp; says: string }> = {
  label: { re: DNS_LABEL_RE, says: 'lower-case letters, digits and -, at most 63' },
  service: { re: DNS_1035_LABEL_RE, says: 'a lower-case letter, then letters, digits and -, at most 63' },
  subdomain: { re: DNS_SUBDOMAIN_RE, says: 'lower-case letters, digits, - and ., at most 253' },
};

export function nameProblem(name: string, kind: NameKind): string | undefined {
  const rule = RULES[kind];
  return rule.re.test(name) ? undefined : `${JSON.stringify(name)} is not a valid Kubernetes name (${rule.says})`;
}

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if ((prefix === undefined || DNS_SUBDOMAIN_RE.test(prefix)) && LABEL_NAME_RE.test(name)) return undefined;
  return `${JSON.stringify(key)} is not a valid label key ([prefix/]name, e.g. app or istio.io/use-waypoint)`;
}

export function labelValueProblem(value: string): string | undefined {
  if (LABEL_VALUE_RE.test(value)) return undefined;
  return `${JSON.stringify(value)} is not a valid label value (letters, digits, -, _ and ., at most 63)`;
}

/** Kubernetes' alphabet for generated name parts (no vowels, no look-alikes). */
export const GENERATED_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** A ReplicaSet's pod-template-hash, and the random suffix of each of its pods. */
export const TEMPLATE_HASH_LENGTH = 10;
export const POD_SUFFIX_LENGTH = 5;

/** `length` characters of the alphabet, each chosen by `pick` (crypto's randomInt by default in callers). */
export function generatedPart(length: number, pick: (n: number) => number): string {
  return Array.from({ length }, () => GENERATED_NAME_ALPHABET[pick(GENERATED_NAME_ALPHABET.length)]).join('');
}

/** A Deployment's pod name: <deployment>-<template hash>-<suffix>, none of `taken`. */
export function replicaPodName(deployment: string, templateHash: string, taken: ReadonlySet<string>, pick: (n: number) => number): string {
  let name: string;
  do name = `${deployment}-${templateHash}-${generatedPart(POD_SUFFIX_LENGTH, pick)}`;
  while (taken.has(name));
  return name;
}

/** A deterministic draw for generated names: the same seed gives the same names in every process. */
export function seededPick(seed: string): (n: number) => number {
  let counter = 0;
  return (n) => createHash('sha256').update(`${seed}:${counter++}`).digest().readUInt32BE(0) % n;
}
