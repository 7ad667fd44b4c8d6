/**
 * Text from input made safe for a terminal: names and values from topology files, dumps and flags
 * end up in messages, and a name holding escape sequences would retitle or clear the terminal
 * reading them (a 50 MB name would make a 50 MB message). Control characters are written as Go's
 * %q writes them (`\x1b`, `\x7f`, `\u009b`), which is how kubectl shows such names; long values
 * keep their head and say how much was left out.
 */

/** How many characters of one value a message shows before cutting it (`…(N more)`). */
export const DISPLAY_MAX = 200;

// C0 (but tab and newline, handled by the caller's choice), DEL, C1, and the Unicode line and
// paragraph separators and bidi overrides that reorder what a terminal shows
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
const CONTROL_ALL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
const CONTROL_WITH_LINES = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const n = c.charCodeAt(0);
  if (n === 0x09) return '\\t';
  if (n === 0x0a) return '\\n';
  if (n === 0x0d) return '\\r';
  if (n < 0x80) return `\\x${n.toString(16).padStart(2, '0')}`;
  return `\\u${n.toString(16).padStart(4, '0')}`;
}

/**
 * Escapes control characters (`\x1b`, `\u009b`); tab and newline are kept unless `lines` is false
 * (a value inside one line of a message), so a multi-line message keeps its shape.
 */
export function escapeControls(s: string, lines = true): string {
  if (lines) return CONTROL.test(s) ? s.replace(CONTROL_ALL, escapeOne) : s;
  return s.replace(CONTROL_WITH_LINES, escapeOne);
}

/** Keeps the first `max` characters of a long value and says how many more there were. */
export function shorten(s: string, max = DISPLAY_MAX): string {
  if (s.length <= max) return s;
  // a surrogate pair is not cut in half
  const end = /[\ud800-\udbff]/.test(s.charAt(max - 1)) ? max - 1 : max;
  return `${s.slice(0, end)}…(${s.length - end} more)`;
}

/** A value from input as a message shows it: shortened, then every control character escaped. */
export function displayText(s: string, max = DISPLAY_MAX): string {
  return escapeControls(shorten(s, max), false);
}

/** One line of a message made safe: control characters escaped (newlines kept), cut at `max`. */
export function safeLine(s: string, max = 4 * DISPLAY_MAX * 10): string {
  return escapeControls(shorten(s, max));
}
