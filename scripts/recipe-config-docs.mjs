#!/usr/bin/env node
// Writes the configuration reference of the built-in recipes into docs/recipes.md, between the
// markers `<!-- BEGIN CONFIG REFERENCE -->` and `<!-- END CONFIG REFERENCE -->`, from the recipes'
// schemas (every key with its description, which states its default). Run after changing a
// recipe's schema: `node scripts/recipe-config-docs.mjs` (packages/core/src/recipes/configReference.spec.ts
// checks the file is up to date).

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { evalRecipe, generateRecipe, renderRecipeConfigReference, trainRecipe } from '@fs2/core';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(REPO, 'docs', 'recipes.md');
const text = readFileSync(file, 'utf8');
const begin = '<!-- BEGIN CONFIG REFERENCE -->\n';
const end = '<!-- END CONFIG REFERENCE -->';
const start = text.indexOf(begin);
const stop = text.indexOf(end);
const reference = [trainRecipe, evalRecipe, generateRecipe].map((r) => renderRecipeConfigReference(r)).join('\n');
writeFileSync(file, `${text.slice(0, start + begin.length)}${reference}${text.slice(stop)}`);
process.stdout.write(`Updated ${file}.\n`);
