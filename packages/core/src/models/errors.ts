import { Fs2Error } from '../errors/Fs2Error.js';

/** No asset card has this name. */
export class ModelNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(readonly modelName: string) {
    super(`${modelName} is not a known model.`);
  }
}

/** No model family is registered under this name. `knownFamilies` lists those that are. */
export class ModelFamilyNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    readonly familyName: string,
    readonly knownFamilies: readonly string[] = [],
  ) {
    super(
      `${familyName} is not a known model family.${knownFamilies.length > 0 ? ` Registered families: ${knownFamilies.join(', ')}.` : ''}`,
    );
  }
}

/** A family has no architecture preset of this name. */
export class ModelArchitectureNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    readonly arch: string,
    readonly familyName: string,
  ) {
    super(`${arch} is not a known ${familyName} model architecture.`);
  }
}

/**
 * The card has no `checkpoint`: the weights are gated (a license to accept, a form to fill) and
 * fs2 cannot fetch them. The message says how to point fs2 at a copy the user has.
 */
export class ModelGatedError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly modelName: string,
    readonly infoUrl: string | undefined,
  ) {
    super(
      `${modelName} is a gated model and cannot be loaded.${infoUrl === undefined ? '' : ` See ${infoUrl} for details.`} ` +
        `To use a copy you have, add a card to your user asset folder ($FAIRSEQ2_USER_ASSET_DIR, else ~/.config/fairseq2/assets/) ` +
        `with \`name: ${modelName}@user\` and \`checkpoint: /path/to/the/checkpoint\`.`,
    );
  }
}

/** A checkpoint folder with no card does not say which family reads it. */
export class ModelFamilyNotDetectedError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`The model family of ${path} cannot be determined: ${reason}`);
  }
}
