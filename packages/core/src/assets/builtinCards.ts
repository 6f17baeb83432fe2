import { fileURLToPath } from 'node:url';

/** The source name of the cards shipped with fs2 (fairseq2's is `package:fairseq2.assets.cards`). */
export const BUILTIN_CARDS_SOURCE = 'package:@fs2/core';

/**
 * The folder of the built-in cards: `packages/core/cards` (a link to the repository's `cards/`),
 * found from this module's own location. The compiled file (`dist/assets/`) and the source file
 * (`src/assets/`, under jest) sit at the same depth, so one relative path serves both.
 */
export function builtinCardsDir(): string {
  return fileURLToPath(new URL('../../cards', import.meta.url));
}
