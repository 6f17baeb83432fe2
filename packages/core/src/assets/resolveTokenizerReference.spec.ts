import { describe, expect, it } from '@jest/globals';

import { caught, yamlStore } from '../../../../test/support/index.js';
import { AssetCardError } from './errors.js';
import { resolveTokenizerReference } from './resolveTokenizerReference.js';

const FILE = '/cards/t.yaml';
const store = yamlStore({
  s: {
    [FILE]: `name: base_tok
tokenizer_family: llama
---
name: a
tokenizer_ref: b
---
name: b
tokenizer_ref: base_tok
---
name: loop1
tokenizer_ref: loop2
---
name: loop2
tokenizer_ref: loop1
---
name: dangling
tokenizer_ref: nowhere
---
name: inherits
base: a
`,
  },
});

describe(resolveTokenizerReference, () => {
  it('follows the references to the card that has no reference', () => {
    expect(resolveTokenizerReference(store, store.retrieveCard('a')).name).toBe('base_tok');
    expect(resolveTokenizerReference(store, store.retrieveCard('inherits')).name).toBe('base_tok');
    expect(resolveTokenizerReference(store, store.retrieveCard('base_tok')).name).toBe('base_tok');
  });

  it('names a reference to a card that does not exist', () => {
    const error = caught(() => resolveTokenizerReference(store, store.retrieveCard('dangling')));

    expect(error).toBeInstanceOf(AssetCardError);
    expect(error.message).toBe(`\`nowhere\` asset referenced by the \`dangling\` asset card does not exist. (${FILE}:17:16)`);
  });

  it('shows a cycle instead of looping', () => {
    expect(caught(() => resolveTokenizerReference(store, store.retrieveCard('loop1'))).message).toBe(
      `The \`loop1\` asset card has a cycle in its \`tokenizer_ref\` chain: loop1 -> loop2 -> loop1. (${FILE}:14:16)`,
    );
  });
});
