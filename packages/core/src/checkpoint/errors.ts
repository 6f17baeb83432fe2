import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';

/**
 * A checkpoint file is malformed, truncated, or does not fit the model. `path` names the file and
 * `tensor`, when known, the tensor at fault.
 */
export class CheckpointError extends Fs2Error {
  override readonly category: 'user' | 'not_found' = 'user';

  constructor(
    readonly path: string,
    message: string,
    readonly tensor?: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Nothing exists at the path a checkpoint was asked from. */
export class CheckpointNotFoundError extends CheckpointError {
  override readonly category = 'not_found' as const;

  constructor(path: string, options?: Fs2ErrorOptions) {
    super(path, `${path} does not exist.`, undefined, options);
  }
}

/** No registered checkpoint loader recognises the path (fairseq2's wording). */
export class UnknownCheckpointFormatError extends CheckpointError {
  constructor(path: string, readonly loaders: readonly string[]) {
    super(
      path,
      `${path} does not point to any known checkpoint. The known formats are: ${loaders.join(', ')}.`,
    );
  }
}

/**
 * A pickle names a global (a class or function) that the restricted unpickler does not allow.
 * Raised when the global is looked up, before anything is called.
 */
export class UnsafePickleGlobalError extends CheckpointError {
  constructor(
    path: string,
    /** The entry of the archive holding the pickle (`archive/data.pkl`). */
    readonly entry: string,
    /** `module.name` of the refused global. */
    readonly global: string,
    /** The byte offset of the opcode in the pickle. */
    readonly position: number,
  ) {
    super(
      path,
      `${path} is refused: its pickle ${entry} refers to the global ${global} (at byte ${position}), which is not on the allow-list of the restricted unpickler.`,
    );
  }
}

/** A pickle is malformed, truncated, too large or uses an opcode the unpickler does not support. */
export class PickleError extends CheckpointError {
  constructor(
    path: string,
    /** The entry of the archive holding the pickle. */
    readonly entry: string,
    /** What is wrong. */
    readonly reason: string,
    /** The byte offset in the pickle where it went wrong. */
    readonly position: number,
  ) {
    super(path, `${path} holds a malformed pickle ${entry}: ${reason} (at byte ${position}).`);
  }
}

/** A checkpoint key that no entry of a key map matches. */
export class UnmappedKeyError extends CheckpointError {
  constructor(
    path: string,
    key: string,
    /** The name of the key map (`llama HF`, ...). */
    readonly keyMap: string,
  ) {
    super(path, `${key} in ${path} does not match any entry of the ${keyMap} key map.`, key);
  }
}

/** A tensor has a shape other than the model expects. */
export class TensorShapeError extends CheckpointError {
  constructor(
    path: string,
    tensor: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
  ) {
    super(
      path,
      `${tensor} has a shape of [${actual.join(', ')}] in ${path}, but a shape of [${expected.join(', ')}] is expected.`,
      tensor,
    );
  }
}
