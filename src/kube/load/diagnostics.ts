/**
 * Diagnostics produced while loading a topology: every problem is a value (never an exception),
 * positioned at file:line:col and naming the object and field it concerns.
 */
import { displayText } from '../../wire/text.js';

/** One problem (or informational notice) found in the input. */
export interface TopologyDiagnostic {
  readonly severity: 'error' | 'notice';
  readonly file: string;
  /** 1-based; 0 when the problem concerns the file as a whole (unreadable, missing). */
  readonly line: number;
  /** 1-based; 0 together with line 0. */
  readonly col: number;
  /** The object concerned, e.g. `Pod default/web`, `Cluster demo`, `Scenario basics`. */
  readonly object: string | undefined;
  /** Field path inside the object, e.g. `spec.containers[0].ports[1].containerPort`. */
  readonly path: string | undefined;
  readonly message: string;
}

/**
 * Formats a diagnostic the way compilers do:
 * `file:line:col: error: Pod default/web: spec.containers[0].ports[1].containerPort: expected …`.
 * Line 0 (whole-file problems) prints as `file: error: …`.
 */
export function formatDiagnostic(d: TopologyDiagnostic): string {
  // every part may carry input (a name with escape sequences, a 50 MB name): escaped and shortened
  const file = displayText(d.file, 1000);
  const where = d.line > 0 ? `${file}:${d.line}:${d.col}` : file;
  const parts = [where, ` ${d.severity}`];
  if (d.object !== undefined) parts.push(` ${displayText(d.object)}`);
  if (d.path !== undefined && d.path !== '') parts.push(` ${displayText(d.path)}`);
  return `${parts.join(':')}: ${displayText(d.message, 4000)}`;
}

/** Collects diagnostics, dropping exact duplicates, and orders them by file and position. */
export class DiagnosticSink {
  private readonly items: Array<{ d: TopologyDiagnostic; seq: number }> = [];
  private readonly seen = new Set<string>();
  private readonly fileOrder = new Map<string, number>();
  private errors = 0;

  /** Declares a file so its diagnostics sort in load order rather than by name. */
  addFile(file: string): void {
    if (!this.fileOrder.has(file)) this.fileOrder.set(file, this.fileOrder.size);
  }

  add(d: TopologyDiagnostic): void {
    const key = `${d.severity}\u0000${d.file}\u0000${d.line}\u0000${d.col}\u0000${d.object ?? ''}\u0000${d.path ?? ''}\u0000${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.addFile(d.file);
    this.items.push({ d, seq: this.items.length });
    if (d.severity === 'error') this.errors++;
  }

  get errorCount(): number {
    return this.errors;
  }

  /** All diagnostics, ordered by file (load order), line, column, then discovery order. */
  sorted(): TopologyDiagnostic[] {
    const order = (f: string): number => this.fileOrder.get(f) ?? Number.MAX_SAFE_INTEGER;
    return [...this.items]
      .sort((a, b) => order(a.d.file) - order(b.d.file) || a.d.line - b.d.line || a.d.col - b.d.col || a.seq - b.seq)
      .map((x) => x.d);
  }
}
