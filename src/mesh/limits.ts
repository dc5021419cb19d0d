// How big a scenario may be, in one place. A scenario file is read by the runner and again by
// every process it starts (ztunnel and node agent per node, one per waypoint), so a file that is
// expensive to parse is paid for many times, and a mesh that cannot start within the runner's
// readiness timeout is better refused up front than left to time out.
//
// How the caps were chosen (2 cores, 24 GB, Node.js 20; `hbone-sim scenario` with --hold,
// http-echo pods spread over the nodes; November 2026, with other engineers' tests loading the
// machine to a load average of 15-23). Pods live in node agents (one process per node), so a
// pod costs a few sockets, not a process: 60 pods over 2 nodes were ready in 1.8-2.2 s in 5
// processes taking 390 MB of RSS in all (one process per pod: 12.9 s and 4.6 GB in 63); 200
// pods in 3.8 s, 500 in 5.2-6.8 s (555 MB), 750 in 6.7 s (586 MB), 1,000 in 8.2 s once (627 MB)
// and not within the 10 s timeout another time (ztunnel-node-1, which issues a certificate per
// pod, was late). What binds is start-up CPU per process, and a node is now two processes (its
// ztunnel and its node agent, ~0.3 s of CPU and ~70 MB each): over 8 nodes, 300 pods were ready
// in 8.2 s and 400 in 8.7 s (17 processes, 1.7 GB), 500 in 9.7 s, 750 not in time. So at most 8
// nodes, as before, and 400 pods. `--pod-processes` still gives each pod a process of its own,
// so it keeps the cap measured for that model (MAX_POD_PROCESSES).
// Raise MAX_WORKLOADS when ztunnel starts its pods' listeners and certificates more cheaply.

/** Bytes in a scenario file. bookinfo.yaml is 10 KiB; 400 pods and 256 services take ~110 KiB. */
export const MAX_SCENARIO_BYTES = 256 * 1024;

/** Nodes (each one a ztunnel process and a node agent process). */
export const MAX_NODES = 8;

/** Pods, waypoints included (a node agent hosts the pods, a waypoint is a process). */
export const MAX_WORKLOADS = 400;

/**
 * Pods under `scenario --pod-processes`, where each pod is a process of its own (~0.3 s of CPU
 * to start, 70-80 MB of RSS): 56 pods and 8 nodes (64 processes) were ready in 11.0 s, twice,
 * and 80 processes missed the readiness timeout.
 */
export const MAX_POD_PROCESSES = 56;

/**
 * Waypoints a running mesh deploys for applied Gateways: each is a process of its own (about
 * 100-150 MB of RSS under load, see bench/REPORT.md), so 16 of them are about 2 GB.
 */
export const MAX_WAYPOINTS = 16;

/** Manifest files a scenario may include (`manifests:`); each is bounded as a scenario file is. */
export const MAX_MANIFEST_FILES = 16;

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
