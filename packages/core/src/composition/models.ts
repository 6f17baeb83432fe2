import { AssetConfigLoader } from '../assets/AssetConfigLoader.js';
import { AssetCardValidator } from '../assets/AssetCardValidator.js';
import { AssetStore } from '../assets/AssetStore.js';
import { AssetDownloadManager } from '../assets/download/AssetDownloadManager.js';
import { ProgressReporter } from '../assets/download/ProgressReporter.js';
import { AssetCardError, type AssetProblem } from '../assets/errors.js';
import { CheckpointLoader } from '../checkpoint/CheckpointLoader.js';
import { GlobalModelLoader, StandardGlobalModelLoader } from '../models/GlobalModelLoader.js';
import { ModelFamily, type LoadableModel } from '../models/ModelFamily.js';
import { StandardModelFamily, type ModelFamilySpec } from '../models/StandardModelFamily.js';
import type { DependencyContainer, DependencyResolver } from '../runtime/DependencyContainer.js';
import { Environment } from '../runtime/Environment.js';

/**
 * Registers a model family under `name` (fairseq2's `register_model_family`): its config schema,
 * architecture presets, factory and checkpoint converters, wrapped in a
 * {@link StandardModelFamily}. A second family with the same name is an error naming both
 * registrants (packages).
 *
 * ```ts
 * export default function setup(container: DependencyContainer): void {
 *   registerModelFamily(container, LLAMA_FAMILY, {
 *     configSchema: LlamaConfigSchema,
 *     defaultConfig: () => llamaArchs.llama3_8b(),
 *     archs: llamaArchs,
 *     factory: createLlamaModel,
 *     converters: [llamaHfConverter, llamaMetaConverter],
 *     huggingFace: llamaHuggingFaceInterop,
 *   });
 * }
 * ```
 */
export function registerModelFamily<TModel extends LoadableModel, TConfig>(
  container: DependencyContainer,
  name: string,
  spec: ModelFamilySpec<TModel, TConfig>,
): void {
  const origin = container.currentOrigin;
  container.register(
    ModelFamily,
    (r) => new StandardModelFamily(name, origin, spec, modelFamilyServices(r)) as unknown as ModelFamily,
    { key: name, singleton: true },
  );
}

function modelFamilyServices(r: DependencyResolver): ConstructorParameters<typeof StandardModelFamily>[3] {
  return {
    configs: r.resolve(AssetConfigLoader),
    downloads: r.resolve(AssetDownloadManager),
    checkpoints: r.resolve(CheckpointLoader),
    progress: r.resolve(ProgressReporter),
    environment: r.resolve(Environment),
  };
}

/**
 * The library's part of the model subsystem: the global loader, and a card validator that checks
 * every card with a `model_family` against the registered families (known family, known
 * `model_arch`, `model_config` overrides that fit the family's schema).
 */
export function registerModelLibrary(container: DependencyContainer): void {
  container.register(
    GlobalModelLoader,
    (r) => new StandardGlobalModelLoader(r.resolve(AssetStore), r.lookup(ModelFamily), r.resolve(CheckpointLoader)),
    { singleton: true },
  );
  container.collection.register(AssetCardValidator, (r) => {
    const families = r.lookup(ModelFamily);
    return {
      name: 'model families',
      validate(card): readonly AssetProblem[] {
        const field = card.maybeField('model_family');
        if (field === undefined) {
          return [];
        }
        // A family that is not installed cannot check its cards, and its name cannot be told from
        // a typo: the built-in cards name llama, qwen and mistral whether or not their packages
        // are installed. Loading such a card says which families are registered.
        const family = families.maybeGet(field.asString());
        if (family === undefined) {
          return [];
        }
        if (family instanceof StandardModelFamily) {
          return family.checkCard(card);
        }
        try {
          family.getModelConfig(card);
          return [];
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
