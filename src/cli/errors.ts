/** Error classification for the CLI's exit codes. */
import { OutputPathError } from '../trace/byte-sink.js';

/** True for errors about where output may be written (a user error, exit code 2). */
export function isOutputPathError(e: unknown): boolean {
  return e instanceof OutputPathError;
}
