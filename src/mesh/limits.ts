// How big a scenario may be, in one place. A scenario file is read by the runner and again by
// every process it starts (one per node, one per pod), so a file that is expensive to parse
// is paid for dozens of times, and a mesh that cannot start within the runner's readiness
// timeout is better refused up front than left to time out.
//
// How the process caps were chosen (2 cores, 24 GB, Node.js 20; `hbone-sim scenario` with
// --hold, http-echo pods spread over the nodes; November 2026): each process takes ~0.3 s
// of CPU to be ready (median 0.28 s in /proc with 20 pods) and ~45 MB of memory of its own
// (70 MB RSS with shared pages), and the runner gives the whole mesh 10 s to be ready. 20 pods + 2 nodes were ready in 3.4 s;
// 56 + 8 (64 processes) in 11.0 s twice, 60 + 6 in 10.9 and 11.6 s; 64 + 16 (80 processes)
// and 80 + 8 failed the readiness timeout once each in two runs. Memory is not what binds
// (64 processes use ~3 GB); start-up CPU is. So at most 8 nodes and 56 pods: 64 processes.
// Raise MAX_WORKLOADS when pods become cheaper to start.

/** Bytes in a scenario file. bookinfo.yaml is 10 KiB; 56 pods and 256 services take ~80 KiB. */
export const MAX_SCENARIO_BYTES = 256 * 1024;

/** Nodes (each one a ztunnel process). */
export const MAX_NODES = 8;

/** Pods, waypoints included (each one a process). */
export const MAX_WORKLOADS = 56;

/** Services (no process of their own; bounds the cost of resolution and of the checks). */
export const MAX_SERVICES = 256;

/**
 * YAML nodes (keys, values, list items), aliases expanded. Parsing costs about 1 KB of
 * memory per node (a 1 MiB flow list of 500,000 numbers took 550 MB); a scenario at the
 * caps above holds ~15,000.
 */
export const MAX_YAML_NODES = 50_000;

/**
 * Nesting of YAML collections. The yaml library composes recursively and runs out of stack
 * near 1,000 levels; a scenario nests about 10 (policies[].spec.rules[].from[].source...).
 */
export const MAX_YAML_DEPTH = 64;
