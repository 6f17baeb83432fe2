import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

import { checkConfig } from '../assets/structureConfig.js';
import { renderRecipeConfigReference } from './configReference.js';
import { evalRecipe } from './lm/evalRecipe.js';
import { generateRecipe } from './lm/generateRecipe.js';
import { trainRecipe } from './lm/trainRecipe.js';

const DOC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'docs', 'recipes.md');
const RECIPES = [trainRecipe, evalRecipe, generateRecipe];

describe('the recipes\' configuration reference', () => {
  it('is up to date in docs/recipes.md (regenerate it with `node scripts/recipe-config-docs.mjs`)', () => {
    const text = readFileSync(DOC, 'utf8');
    const begin = '<!-- BEGIN CONFIG REFERENCE -->\n';
    const written = text.slice(text.indexOf(begin) + begin.length, text.indexOf('<!-- END CONFIG REFERENCE -->'));
    expect(written).toBe(RECIPES.map((r) => renderRecipeConfigReference(r as never)).join('\n'));
  });

  it('documents every key with its default, and the defaults fit the schemas', () => {
    for (const recipe of RECIPES) {
      const rows = renderRecipeConfigReference(recipe as never)
        .split('\n')
        .filter((line) => line.startsWith('| `'));
      expect(rows.length).toBeGreaterThan(10);
      for (const row of rows) {
        expect(row).toMatch(/ Default: .+\. \|$/);
      }
      expect(checkConfig(recipe.defaultConfig(), recipe.configSchema)).toEqual([]);
    }
  });
});
