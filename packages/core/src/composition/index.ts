export { registerLibrary } from './lib.js';
export type { LibraryOptions } from './lib.js';
export {
  registerAssetCardValidator,
  registerAssetEnvironmentResolver,
  registerAssets,
  registerFileAssets,
  registerInMemoryAssets,
  registerPackageAssets,
} from './assets.js';
export type { RegisterFileAssetsOptions } from './assets.js';
export { registerAssetDownloadManager, registerAssetDownloads } from './downloads.js';
export type { AssetDownloadsOptions } from './downloads.js';
export { registerCheckpointLoaders } from './checkpoint.js';
export { registerModelFamily, registerModelLibrary } from './models.js';
export { registerTokenizerFamily, registerTokenizerLibrary } from './tokenizers.js';
export { registerDatasetFamily, registerDatasetLibrary } from './datasets.js';
export { registerCheckpointModels, registerRecipe, registerRecipeLibrary } from './recipes.js';
