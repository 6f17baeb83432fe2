/**
 * Where something was written in an asset card file: the file's absolute path and the 1-based
 * line and column of the first character.
 */
export interface SourceLocation {
  /** The absolute path of the file. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** `file:line:column`, the form editors and terminals turn into links. */
export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}

/** `" (file:line:column)"` when `location` is known, else the empty string: the suffix of a located message. */
export function locationSuffix(location: SourceLocation | undefined): string {
  return location === undefined ? '' : ` (${formatLocation(location)})`;
}
