import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';

/** No asset card has this name (fairseq2's `TokenizerNotKnownError`). */
export class TokenizerNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(readonly tokenizerName: string) {
    super(`${tokenizerName} is not a known tokenizer.`);
  }
}

/** No tokenizer family is registered under this name. `knownFamilies` lists those that are. */
export class TokenizerFamilyNotKnownError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    readonly familyName: string,
    readonly knownFamilies: readonly string[] = [],
  ) {
    super(
      `${familyName} is not a known tokenizer family.${knownFamilies.length > 0 ? ` Registered families: ${knownFamilies.join(', ')}.` : ''}`,
    );
  }
}

/**
 * The card has no `tokenizer`: the files are gated (a license to accept, a form to fill) and fs2
 * cannot fetch them. The message says how to point fs2 at a copy the user has.
 */
export class TokenizerGatedError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly tokenizerName: string,
    readonly infoUrl: string | undefined,
  ) {
    super(
      `${tokenizerName} is a gated tokenizer and cannot be loaded.${infoUrl === undefined ? '' : ` See ${infoUrl} for details.`} ` +
        `To use a copy you have, add a card to your user asset folder ($FAIRSEQ2_USER_ASSET_DIR, else ~/.config/fairseq2/assets/) ` +
        `with \`name: ${tokenizerName}@user\` and \`tokenizer: /path/to/the/tokenizer\`.`,
    );
  }
}

/**
 * The tokenizer files at {@link path} cannot be used: missing, not JSON, not a Hugging Face
 * `tokenizer.json`, a model or component that `@huggingface/tokenizers` does not support, a
 * special token missing from the vocabulary (fairseq2's `TokenizerModelError`). The message names
 * the file and what is wrong with it.
 */
export class TokenizerModelError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    /** The file or folder at fault. */
    readonly path: string,
    /** The whole message: a sentence naming {@link path} and the problem. */
    readonly reason: string,
    options?: Fs2ErrorOptions,
  ) {
    super(reason, options);
  }
}

/** A tokenizer has no chat template: neither its files nor its family supply one. */
export class ChatTemplateNotFoundError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    /** The tokenizer (its `tokenizer.json` path, or another name it was given). */
    readonly source: string,
    /** The named template asked for, when one was. */
    readonly templateName?: string,
    /** The named templates the tokenizer has, when it has named ones. */
    readonly knownTemplates: readonly string[] = [],
  ) {
    super(
      templateName === undefined
        ? `The tokenizer ${source} has no chat template: its \`tokenizer_config.json\` has no \`chat_template\` and no \`chat_template.jinja\` lies beside it. ` +
            `Pass one (the \`chatTemplate\` option of \`loadHuggingFaceTokenizer\`, or \`chat_template\` in the card's \`tokenizer_config\` for the \`hf\` family), or use a tokenizer family that supplies it.`
        : `The tokenizer ${source} has no chat template named \`${templateName}\`${knownTemplates.length > 0 ? ` (it has ${knownTemplates.map((n) => `\`${n}\``).join(', ')})` : ''}.`,
    );
  }
}

/** A chat template is not valid Jinja, or rendering it failed (`raise_exception`, a bad value). */
export class ChatTemplateError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    /** The tokenizer the template belongs to. */
    readonly source: string,
    /** What failed, without the tokenizer's name. */
    readonly reason: string,
    options?: Fs2ErrorOptions,
  ) {
    super(`The chat template of the tokenizer ${source} ${reason}`, options);
  }
}
