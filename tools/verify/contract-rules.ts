import { Worker } from 'node:worker_threads';
import { type ContractChange, compareContracts } from './contract-compat.js';
import { extractContracts, type Extracted } from './contract-extract.js';
import type { Contracts } from './contract-model.js';
import { readSnapshot, SNAPSHOT_FILE, type Snapshot, snapshotLine, writeSnapshot } from './contract-snapshot.js';
import { UsageError } from './usage-error.js';
import type { Violation } from './violation.js';
import { compareWorkflows, extractWorkflows } from './workflow-extract.js';
import type { Workspace } from './workspace.js';

export const UPDATE_CONTRACTS = 'npm run verify -- --update-contracts';

export interface ContractCheck {
  /** Breaking changes, unreadable contracts, a missing snapshot: these fail (never baselined: accepting is --update-contracts). */
  readonly violations: Violation[];
  /** Compatible changes not recorded yet: reported, not failing (unless --strict-contracts). */
  readonly compatible: ContractChange[];
  /** With --update-contracts: what the rewritten snapshot records that the old one did not. */
  readonly recorded?: { readonly changes: ContractChange[]; readonly contracts: Contracts };
}

/**
 * Runs checkContracts in a worker thread, so that it overlaps the other rules
 * (loading class-validator and type-checking the results take about as long
 * as dependency-cruiser), and so that the tree's classes and the source hook
 * stay out of the checker's own thread. `ms`: the worker's own time.
 */
export function runContractCheck(root: string, update: boolean): Promise<{ check: ContractCheck; ms: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./contract-worker.js', import.meta.url), { workerData: { root, update } });
    worker.once('message', (message: { check?: ContractCheck; ms?: number; error?: string; usage?: boolean; stack?: string }) => {
      // Its answer is in: the exit code of a terminated worker says nothing more (the catch keeps a failure quiet and handled).
      worker.terminate().catch(() => {});
      if (message.check) resolve({ check: message.check, ms: message.ms ?? 0 });
      else if (message.usage) reject(new UsageError(message.error));
      else reject(Object.assign(new Error(message.error), { stack: message.stack }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the contract check stopped (exit ${code}) before answering`)));
  });
}

/**
 * The compatibility gate: the tree's contracts against contracts.snapshot.json
 * (the previous release). With `update`, the snapshot is rewritten to the
 * tree's (even over an unreadable one) and the changes are reported instead.
 */
export async function checkContracts(workspace: Workspace, update = false): Promise<ContractCheck> {
  let snapshot: Snapshot | undefined;
  try {
    snapshot = readSnapshot(workspace.root);
  } catch (error) {
    if (!update || !(error instanceof UsageError)) throw error;
  }
  const contracts = await extractContracts(workspace);
  const flows = extractWorkflows(workspace);
  // Workflows ride along with their module's contract (recorded and compared alike).
  const extracted: Extracted = {
    ...contracts,
    contracts: Object.fromEntries(
      Object.entries(contracts.contracts).map(([module, contract]) => [
        module,
        flows.workflows[module] ? { ...contract, workflows: flows.workflows[module] } : contract,
      ]),
    ),
  };
  const violations: Violation[] = extracted.unreadable.map(({ module, file, reason }) => ({
    rule: 'contract-unreadable',
    file,
    line: 1,
    touches: module,
    what: `the contract of '${module}' could not be loaded (${reason})`,
    fix: 'fix the error (the build fails on it too); until then its contract is not compared',
  }));
  for (const { module, file, line, reason } of flows.unreadable) {
    violations.push({
      rule: 'workflow-unreadable',
      file,
      line,
      touches: module,
      what: `a workflow of '${module}' could not be read (${reason})`,
      fix: 'give defineSaga a literal name, version and steps (each step an object literal with a literal name)',
    });
  }
  // An unreadable module is left out of the comparison: it would read as removed.
  const unreadable = new Set(extracted.unreadable.map((u) => u.module));
  const recorded = Object.fromEntries(Object.entries(snapshot?.contracts ?? {}).filter(([module]) => !unreadable.has(module)));
  const changes = snapshot ? [...compareContracts(recorded, extracted.contracts), ...compareWorkflows(recorded, extracted.contracts)] : [];
  if (update) {
    if (unreadable.size > 0) {
      throw new UsageError(`cannot record the contracts: ${violations.map((v) => v.what).join('; ')}`);
    }
    writeSnapshot(workspace.root, extracted.contracts);
    const all = snapshot ? changes : compareContracts({}, extracted.contracts);
    return { violations: [], compatible: [], recorded: { changes: all, contracts: extracted.contracts } };
  }
  if (!snapshot) {
    violations.push({
      rule: 'contract-snapshot',
      file: SNAPSHOT_FILE,
      line: 1,
      touches: 'missing',
      what: 'no snapshot of the contracts to compare with',
      fix: `record them with ${UPDATE_CONTRACTS}, and commit ${SNAPSHOT_FILE}`,
    });
  }
  workflowLocations = flows.locations;
  for (const change of changes.filter((c) => c.breaking)) violations.push(breakingViolation(change, extracted, snapshot));
  return { violations, compatible: changes.filter((c) => !c.breaking) };
}

/** Where each workflow version is declared (`<module>/<name> v<version>`), for a breaking change's location. */
let workflowLocations = new Map<string, { file: string; line: number }>();

function breakingViolation(change: ContractChange, extracted: Extracted, snapshot: Snapshot | undefined): Violation {
  const [kind, name] = change.subject.split(' ') as ['operation' | 'event' | 'module', string];
  // At the declaration in the tree when there is one; else at the entry of the snapshot it no longer matches.
  const declared =
    kind === 'operation'
      ? extracted.locations.get(`${change.module}.${name}`)
      : kind === 'event'
        ? extracted.locations.get(`${change.module}/${name}`)
        : (kind as string) === 'workflow'
          ? workflowLocations.get(`${change.module}/${change.subject.slice('workflow '.length)}`)
          : undefined;
  const at = declared ?? {
    file: SNAPSHOT_FILE,
    line: snapshotLine(snapshot, change.module, kind === 'module' ? undefined : `${kind}s`, kind === 'module' ? undefined : name),
  };
  return {
    rule: 'contract-breaking',
    file: at.file,
    line: at.line,
    touches: `${change.module} ${change.subject} ${change.where}`.trim(),
    what: `${describeChange(change)}: breaks consumers of the previous release`,
    fix: `${change.fix ?? 'undo it'}; or, if no consumer of the previous release depends on it, accept it: ${UPDATE_CONTRACTS}`,
  };
}

/** `orders operation placeOrder, input field items[].quantity: maximum lowered from 1000 to 999` */
export function describeChange(change: ContractChange): string {
  const subject = change.subject.startsWith('module ') ? change.subject : `${change.module} ${change.subject}`;
  return `${subject}${change.where ? `, ${change.where}` : ''}: ${change.what}`;
}
