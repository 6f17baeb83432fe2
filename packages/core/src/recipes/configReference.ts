import type { TSchema } from '@sinclair/typebox';

import type { Recipe } from './Recipe.js';

/**
 * The configuration reference of a recipe as Markdown: a heading and a table of every key (dotted
 * path), its type and its description (which states the default), from the recipe's schema. The
 * built-in recipes' reference in docs/recipes.md is written with it.
 */
export function renderRecipeConfigReference(recipe: Recipe): string {
  const rows: string[] = [];
  walk(recipe.configSchema, [], rows);
  return [`### \`${recipe.name}\``, '', recipe.description.charAt(0).toUpperCase() + recipe.description.slice(1) + '.', '', '| key | type | description |', '|---|---|---|', ...rows, ''].join(
    '\n',
  );
}

function walk(schema: TSchema, path: readonly string[], rows: string[]): void {
  const properties = schema['properties'] as Readonly<Record<string, TSchema>> | undefined;
  if (schema['type'] === 'object' && properties !== undefined && Object.keys(properties).length > 0) {
    for (const [key, child] of Object.entries(properties)) {
      walk(child, [...path, key], rows);
    }
    return;
  }
  const description = typeof schema['description'] === 'string' ? schema['description'] : '';
  rows.push(`| \`${path.join('.')}\` | ${typeName(schema)} | ${description.replace(/\|/g, '\\|')} |`);
}

function typeName(schema: TSchema): string {
  if (schema['const'] !== undefined) {
    return `\`${JSON.stringify(schema['const'])}\``;
  }
  const anyOf = schema['anyOf'] as readonly TSchema[] | undefined;
  if (anyOf !== undefined) {
    return anyOf.map(typeName).join(' \\| ');
  }
  switch (schema['type']) {
    case 'array':
      return schema['prefixItems'] !== undefined || Array.isArray(schema['items']) ? 'list (tuple)' : `list of ${typeName(schema['items'] as TSchema)}`;
    case 'object':
      return 'mapping';
    case 'null':
      return 'null';
    case undefined:
      return 'any';
    default:
      return String(schema['type']);
  }
}
