// Every hbone-sim command, in the order `hbone-sim --help` lists them. A new command is a file in
// src/cli exporting a Command (flags, then it starts a role whose code lives in its folder) and
// one line here.
import type { Command } from './command';
import { scenarioCommand } from './scenario';
import { upCommand } from './up';
import { applyCommand, deleteCommand } from './apply';
import { getCommand } from './get';
import { labelCommand } from './label';
import { scaleCommand } from './scale';
import { portForwardCommand } from './port-forward';
import { execCommand } from './exec';
import { traceCommand } from './trace';
import { logsCommand } from './logs';
import { xCommand } from './x';
import { proxyConfigCommand } from './proxy-config';
import { istiodCommand } from './istiod';
import { ztunnelCommand } from './ztunnel';
import { waypointCommand } from './waypoint';
import { gatewayCommand } from './gateway';
import { nodeCommand } from './node';
import { appCommand } from './app';
import { certCommand } from './cert';

export const COMMANDS: readonly Command[] = [
  scenarioCommand,
  upCommand,
  applyCommand,
  deleteCommand,
  getCommand,
  labelCommand,
  scaleCommand,
  execCommand,
  portForwardCommand,
  traceCommand,
  logsCommand,
  xCommand,
  proxyConfigCommand,
  istiodCommand,
  ztunnelCommand,
  waypointCommand,
  gatewayCommand,
  nodeCommand,
  appCommand,
  certCommand,
];
