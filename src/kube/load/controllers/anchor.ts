/**
 * Where a controller reports what it cannot do: a place in the input. In a load it is the `Field`
 * of the object concerned (so the problem gets its file:line:col); tests pass a stand-in that
 * records the messages.
 */
import type { Field } from '../field.js';

/** A place to report a problem at: the part of `Field` controllers use. */
export type Anchor = Pick<Field, 'path' | 'source' | 'error' | 'notice' | 'objectNotice'>;
