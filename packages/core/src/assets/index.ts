export { AssetUri, redactError, redactText } from './AssetUri.js';

export type { SourceLocation } from './SourceLocation.js';
export { formatLocation } from './SourceLocation.js';
export {
  AssetCardCycleError,
  AssetCardError,
  AssetMetadataError,
  AssetNotFoundError,
  AssetSourceNotFoundError,
  ConfigMergeError,
  ConfigValidationError,
  formatConfigPath,
} from './errors.js';
export type {
  AssetCardErrorOptions,
  AssetProblem,
  ConfigPath,
  ConfigProblem,
  LocatedErrorOptions,
} from './errors.js';

export {
  ASSET_NAME_RULE,
  canonicalizeAssetName,
  displayAssetName,
  sanitizeBaseAssetName,
  splitCanonicalAssetName,
} from './assetNames.js';
export type { AssetNameParts } from './assetNames.js';
export { describeValueType } from './AssetMetadata.js';
export type {
  AssetMetadataEntry,
  AssetMetadataField,
  AssetMetadataProvider,
  AssetValue,
  NestedLocation,
  ValueLocator,
} from './AssetMetadata.js';

export { MAX_ALIAS_COUNT, MAX_CARD_FILE_BYTES, MAX_NESTING_DEPTH, parseAssetCards } from './parseAssetCards.js';
export type { ParseAssetCardsOptions, ParsedAssetCards } from './parseAssetCards.js';
export { AssetMetadataSource } from './AssetMetadataSource.js';
export { FileAssetMetadataSource } from './FileAssetMetadataSource.js';
export type { FileAssetMetadataSourceOptions } from './FileAssetMetadataSource.js';
export { InMemoryAssetMetadataSource } from './InMemoryAssetMetadataSource.js';
export { PackageAssetMetadataSource, checkPackageName, findPackageDir } from './PackageAssetMetadataSource.js';
export {
  DEFAULT_SYSTEM_ASSET_DIR,
  SYSTEM_ASSET_DIR_VARIABLE,
  USER_ASSET_DIR_VARIABLE,
  WellKnownAssetMetadataSource,
  resolveWellKnownAssetDir,
} from './WellKnownAssetMetadataSource.js';
export type { WellKnownAssetDirKind } from './WellKnownAssetMetadataSource.js';
export { BUILTIN_CARDS_SOURCE, builtinCardsDir } from './builtinCards.js';

export { AssetCard } from './AssetCard.js';
export type { AssetCardFieldData, AssetCardInit } from './AssetCard.js';
export { AssetCardField } from './AssetCardField.js';
export { AssetStore, AssetStoreOptions, StandardAssetStore, USER_ENVIRONMENT } from './AssetStore.js';
export type { StandardAssetStoreOptions } from './AssetStore.js';
export { getAssetStore } from './getAssetStore.js';
export { ASSET_ENV_VARIABLE, AssetEnvironmentResolver, detectAssetEnvironment } from './AssetEnvironmentResolver.js';
export { AssetWarningListener, assetWarner } from './AssetWarningListener.js';

export { DELETE_DIRECTIVE, SET_DIRECTIVE, mergeConfig } from './mergeConfig.js';
export { ENV_DIRECTIVE_PATTERN, interpolateEnvVariables } from './interpolateEnvVariables.js';
export { checkConfig, structureConfig } from './structureConfig.js';
export { AssetConfigLoader, StandardAssetConfigLoader, assetConfigKeys } from './AssetConfigLoader.js';
export type { AssetConfigKind } from './AssetConfigLoader.js';

export { resolveSubPath } from './resolveSubPath.js';
export { TOKENIZER_REF_FIELD, resolveTokenizerReference } from './resolveTokenizerReference.js';
export { AssetCardValidator } from './AssetCardValidator.js';
export type { AssetCardValidationContext } from './AssetCardValidator.js';
export { validateAssetStore } from './validateAssetStore.js';
export type { AssetValidationReport, ValidateAssetStoreOptions } from './validateAssetStore.js';
export * from './download/index.js';
export { retrieveCardAsset } from './retrieveCardAsset.js';
export type { CardAssetFields, RetrieveCardAssetOptions } from './retrieveCardAsset.js';
