import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetConfigLoader } from '../assets/AssetConfigLoader.js';
import { AssetStore } from '../assets/AssetStore.js';
import { assetWarner } from '../assets/AssetWarningListener.js';
import { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { AssetCardError, type AssetProblem } from '../assets/errors.js';
import { DatasetFamily } from '../datasets/DatasetFamily.js';
import { DATASET_FAMILY_FIELD } from '../datasets/DatasetHub.js';
import { GENERIC_INSTRUCTION_DATASET_FAMILY, genericInstructionDatasetFamilySpec } from '../datasets/genericInstructionDatasetFamily.js';
import { GlobalDatasetOpener, StandardGlobalDatasetOpener } from '../datasets/GlobalDatasetOpener.js';
import { StandardDatasetFamily, type DatasetFamilyServices, type DatasetFamilySpec } from '../datasets/StandardDatasetFamily.js';
import { TEXT_DATASET_FAMILY, textDatasetFamilySpec } from '../datasets/textDatasetFamily.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';

/**
 * Registers a dataset family under `name` (fairseq2's `register_dataset_family`): its config
 * schema, default config and opener, wrapped in a {@link StandardDatasetFamily}. A second family
 * with the same name is an error naming both registrants. Recipes call it from their `register`
 * (as fairseq2's do), extensions from their entry:
 *
 * ```ts
 * register(container: DependencyContainer): void {
 *   registerDatasetFamily(container, 'my_dataset', {
 *     configSchema: MyDatasetConfigSchema,
 *     defaultConfig: () => ({ data: '' }),
 *     opener: (config) => MyDataset.fromPath(config.data),
 *   });
 * }
 * ```
 */
export function registerDatasetFamily<TDataset, TConfig>(
  container: DependencyContainer,
  name: string,
  spec: DatasetFamilySpec<TDataset, TConfig>,
): void {
  const origin = container.currentOrigin;
  container.register(
    DatasetFamily,
    (r) => new StandardDatasetFamily(name, origin, spec, datasetFamilyServices(r)) as unknown as DatasetFamily,
    { key: name, singleton: true },
  );
}

function datasetFamilyServices(r: DependencyResolver): DatasetFamilyServices {
  return { configs: r.resolve(AssetConfigLoader), downloads: r.resolve(AssetDownloadManager), warn: assetWarner(r) };
}

/**
 * The library's part of the dataset subsystem: the built-in `text` and `generic_instruction`
 * families (fairseq2 registers none and leaves them to recipes; fs2's built-in recipes read these
 * two, and cards that name them then validate and open anywhere), the global opener, and a card
 * validator that checks the `dataset_config` overrides of every card whose `dataset_family` is
 * registered against that family's schema.
 */
export function registerDatasetLibrary(container: DependencyContainer): void {
  registerDatasetFamily(container, TEXT_DATASET_FAMILY, textDatasetFamilySpec);
  registerDatasetFamily(container, GENERIC_INSTRUCTION_DATASET_FAMILY, genericInstructionDatasetFamilySpec);
  container.register(GlobalDatasetOpener, (r) => new StandardGlobalDatasetOpener(r.resolve(AssetStore), r.lookup(DatasetFamily)), {
    singleton: true,
  });
  container.collection.register(AssetCardValidator, (r) => {
    const families = r.lookup(DatasetFamily);
    return {
      name: 'dataset families',
      validate(card): readonly AssetProblem[] {
        const field = card.maybeField(DATASET_FAMILY_FIELD);
        if (field === undefined) {
          return [];
        }
        try {
          // Recipes register their dataset families when they run (fairseq2's do too): a family
          // that is not registered now cannot check its cards, and is not a problem.
          const family = families.maybeGet(field.asString());
          return family instanceof StandardDatasetFamily ? family.checkCard(card) : [];
        } catch (error) {
          if (error instanceof AssetCardError) {
            return [error];
          }
          throw error;
        }
      },
    };
  });
}
