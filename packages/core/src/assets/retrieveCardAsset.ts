import { stat } from 'node:fs/promises';

import type { AssetCard } from './AssetCard.js';
import type { AssetDownloadManager, AssetDownloadOptions, AssetKind } from './download/AssetDownloadManager.js';
import { AssetCardError } from './errors.js';
import { resolveSubPath } from './resolveSubPath.js';

/** What {@link retrieveCardAsset} resolves: which fields of a card name the asset. */
export interface CardAssetFields {
  /** The field holding the URI or path: `checkpoint`, `tokenizer`, `data`. */
  readonly uriField: string;
  /** The optional field with a path inside the download: `checkpoint_path`, `tokenizer_path`. */
  readonly subPathField?: string;
  /** Selects the files of an `hg:` repository and the download method. */
  readonly kind: AssetKind;
}

/** Options of {@link retrieveCardAsset}. */
export interface RetrieveCardAssetOptions extends Pick<AssetDownloadOptions, 'localOnly' | 'force' | 'progress'> {}

/**
 * The local path of the asset a card names: the URI of `fields.uriField` (a relative path is
 * resolved against the file of the card that wrote it), downloaded through `downloads` unless it
 * is a `file:` URI, then the optional sub-path field joined to it (refused when it leaves the
 * download folder). The card's optional `checksum` field (`sha256:<hex>`) is verified.
 *
 * @throws AssetCardError when the card lacks the field, a value has the wrong type, or a local
 *   path does not exist ("`/x` pointed to by the `checkpoint` field of the `y` asset card is not
 *   found.").
 * @throws AssetDownloadError when a download fails.
 */
export async function retrieveCardAsset(
  card: AssetCard,
  fields: CardAssetFields,
  downloads: AssetDownloadManager,
  options: RetrieveCardAssetOptions = {},
): Promise<string> {
  const field = card.field(fields.uriField);
  const uri = field.asUri();
  const checksum = card.maybeField('checksum')?.asString();
  let path: string;
  if (uri.scheme === 'file') {
    path = uri.toPath();
    if (!(await exists(path))) {
      throw new AssetCardError(
        card.name,
        `\`${path}\` pointed to by the \`${fields.uriField}\` field of the \`${card.name}\` asset card is not found.`,
        { field: fields.uriField, location: field.location },
      );
    }
    if (checksum !== undefined) {
      path = await downloads.downloadModel(uri, { checksum, displayName: card.name });
    }
  } else {
    const downloadOptions: AssetDownloadOptions = {
      ...options,
      ...(checksum === undefined ? {} : { checksum }),
      displayName: card.name,
    };
    switch (fields.kind) {
      case 'model':
        path = await downloads.downloadModel(uri, downloadOptions);
        break;
      case 'tokenizer':
        path = await downloads.downloadTokenizer(uri, downloadOptions);
        break;
      case 'dataset':
        path = await downloads.downloadDataset(uri, downloadOptions);
        break;
    }
  }
  if (fields.subPathField !== undefined) {
    const subPath = card.maybeField(fields.subPathField)?.asString();
    if (subPath !== undefined) {
      path = await resolveSubPath(path, subPath, card, fields.subPathField);
    }
  }
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
