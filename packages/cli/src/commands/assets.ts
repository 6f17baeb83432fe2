import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

import {
  AssetCardError,
  AssetCardValidator,
  AssetMetadataError,
  AssetSourceNotFoundError,
  AssetStore,
  displayAssetName,
  registerFileAssets,
  validateAssetStore,
  type AssetCard,
  type AssetProblem,
  type AssetValue,
} from '@fs2/core';
import { Option, type Command } from 'commander';

import type { CommandContext } from '../context.js';

/** The kinds `fs2 assets list --kind` knows: a card is of kind `k` when it has a `k_family` field. */
const KINDS = ['model', 'tokenizer', 'dataset'] as const;
type Kind = (typeof KINDS)[number];

/** fairseq2 hides the fields it injects (`__source__`, `__base_path__`): names of the form `__x__`. */
const HIDDEN_FIELD = /^__.+__$/;

/** `fs2 assets list|show|validate`: the asset store from the command line (fairseq2's `python -m fairseq2.assets`). */
export function registerAssetsCommands(program: Command, context: CommandContext): void {
  const assets = program.command('assets').description('list, show and validate asset cards');

  assets
    .command('list')
    .description('list the cards of every source, grouped by source')
    .addOption(new Option('--kind <kind>', 'only cards of this kind').choices([...KINDS, 'all']).default('all'))
    .action(async (options: { kind: Kind | 'all' }) => {
      await listCards(context, options.kind);
    });

  assets
    .command('show')
    .description('show a card and its base cards (NAME may be name@env)')
    .argument('<name>', 'the card name')
    .option('--json', 'print one JSON object')
    .action(async (name: string, options: { json?: boolean }) => {
      await showCard(context, name, options.json === true);
    });

  assets
    .command('validate')
    .description('check cards (YAML, names, bases, duplicates, family rules); default: every registered source')
    .argument('[paths...]', 'card files or folders to check (read with the registered sources)')
    .action(async (paths: string[]) => {
      await validateCards(context, paths);
    });
}

async function listCards(context: CommandContext, kind: Kind | 'all'): Promise<void> {
  const { stdout, stderr } = context.options;
  const store = (await context.openFairseq2()).resolve(AssetStore);
  const groups = new Map<string, { name: string; kinds: string[] }[]>();
  for (const name of store.assetNames) {
    let card: AssetCard | undefined;
    try {
      card = store.maybeRetrieveCard(name);
    } catch (error) {
      if (!(error instanceof AssetCardError)) {
        throw error;
      }
      stderr.write(`fs2: warning: ${error.message} The ${displayAssetName(name)} card is left out.\n`);
      continue;
    }
    const entry = store.maybeGetEntry(name);
    if (card === undefined || entry === undefined) {
      continue;
    }
    const kinds = KINDS.filter((k) => card.hasField(`${k}_family`));
    if (kind !== 'all' && !kinds.includes(kind)) {
      continue;
    }
    const group = groups.get(entry.source) ?? [];
    group.push({ name: displayAssetName(name), kinds: kinds.length === 0 ? ['other'] : kinds });
    groups.set(entry.source, group);
  }
  if (groups.size === 0) {
    stdout.write(kind === 'all' ? 'No asset cards.\n' : `No ${kind} cards.\n`);
    return;
  }
  const sources = [...groups.keys()].sort(compare);
  const width = Math.max(...[...groups.values()].flat().map((item) => item.name.length));
  sources.forEach((source, index) => {
    stdout.write(`${index === 0 ? '' : '\n'}${source}\n`);
    for (const item of (groups.get(source) ?? []).sort((a, b) => NATURAL.compare(a.name, b.name))) {
      stdout.write(`  ${item.name.padEnd(width)}  ${item.kinds.join(', ')}\n`);
    }
  });
}

async function showCard(context: CommandContext, name: string, json: boolean): Promise<void> {
  const { stdout } = context.options;
  const card = (await context.openFairseq2()).resolve(AssetStore).retrieveCard(name);
  if (json) {
    stdout.write(`${JSON.stringify(describeCard(card), null, 2)}\n`);
    return;
  }
  for (const [index, current] of card.chain.entries()) {
    const described = describeCard(current);
    stdout.write(`${index === 0 ? '' : '\n'}${current.name}${index === 0 ? '' : ` (base of ${card.chain[index - 1]?.name ?? ''})`}\n`);
    const place = current.location === undefined ? '' : ` (${current.location.file}:${current.location.line})`;
    stdout.write(`  ${'source'.padEnd(16)}: ${current.source}${place}\n`);
    if (described.overlays.length > 0) {
      stdout.write(`  ${'overlays'.padEnd(16)}: ${described.overlays.join(', ')}\n`);
    }
    for (const [field, value] of Object.entries(described.fields)) {
      stdout.write(`  ${field.padEnd(16)}: ${JSON.stringify(value)}\n`);
    }
  }
}

/** The JSON form of `fs2 assets show --json`. */
interface CardDescription {
  name: string;
  source: string;
  file: string | null;
  line: number | null;
  column: number | null;
  overlays: string[];
  fields: Record<string, AssetValue>;
  base: CardDescription | null;
}

function describeCard(card: AssetCard): CardDescription {
  const fields: Record<string, AssetValue> = {};
  for (const field of card.fieldNames) {
    if (!HIDDEN_FIELD.test(field)) {
      fields[field] = card.maybeOwnField(field)?.value ?? null;
    }
  }
  return {
    name: card.name,
    source: card.source,
    file: card.location?.file ?? null,
    line: card.location?.line ?? null,
    column: card.location?.column ?? null,
    overlays: [...card.overlays],
    fields,
    base: card.base === undefined ? null : describeCard(card.base),
  };
}

async function validateCards(context: CommandContext, paths: readonly string[]): Promise<void> {
  const { stdout } = context.options;
  const absolute = paths.map((path) => resolve(context.cwd, path));
  for (const path of absolute) {
    if (statSync(path, { throwIfNoEntry: false }) === undefined) {
      throw new AssetSourceNotFoundError(`path:${path}`, `${path} does not exist.`);
    }
  }
  const resolver = await context.openFairseq2({
    lenient: true,
    extras: (container) => {
      for (const path of absolute) {
        registerFileAssets(container, path);
      }
    },
  });
  const store = resolver.resolve(AssetStore);
  const report = await validateAssetStore(store, resolver.resolveAll(AssetCardValidator), {
    ...(paths.length === 0 ? {} : { paths: absolute }),
  });
  const cwd = realCwd(context.cwd);
  for (const problem of report.problems) {
    stdout.write(`${where(problem, cwd)}: ${problem.reason}\n`);
  }
  const count = report.problems.length;
  const cards = `${report.checked} ${report.checked === 1 ? 'card' : 'cards'}`;
  stdout.write(
    count === 0 ? `Checked ${cards}: no problems.\n` : `Checked ${cards}: ${count} ${count === 1 ? 'problem' : 'problems'}.\n`,
  );
  context.setExitCode(count === 0 ? 0 : 1);
}

/** `file:line:col` (relative to the working directory when inside it), else the source or card. */
function where(problem: AssetProblem, cwd: string): string {
  const location = problem.location;
  if (location !== undefined) {
    const rel = relative(cwd, location.file);
    const file = rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : location.file;
    return `${file}:${location.line}:${location.column}`;
  }
  return problem instanceof AssetMetadataError ? problem.source : problem.cardName;
}

function realCwd(cwd: string): string {
  try {
    return realpathSync(cwd);
  } catch {
    return cwd;
  }
}

/** Sources in code-unit order; names in natural order, so that `llama2_7b` comes before `llama2_13b`. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NATURAL = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });
