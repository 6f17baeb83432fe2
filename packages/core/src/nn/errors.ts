import { Fs2Error, type Fs2ErrorOptions } from '../errors/Fs2Error.js';

/** Formats a shape the way PyTorch prints it: `[64, 128]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Formats a byte count in GiB (from 1 GiB) or MiB with two decimals, plus the exact count:
 * `3.30 GiB (3543348019 bytes)`, `1.50 MiB (1572864 bytes)`.
 */
export function formatBytes(bytes: number): string {
  const [unit, size] = bytes >= 2 ** 30 ? ['GiB', 2 ** 30] : ['MiB', 2 ** 20];
  return `${(bytes / size).toFixed(2)} ${unit} (${bytes} bytes)`;
}

/** No device provider is registered under the name asked for. */
export class UnknownDeviceError extends Fs2Error {
  override readonly category = 'not_found' as const;

  constructor(
    readonly device: string,
    readonly known: readonly string[],
    options?: Fs2ErrorOptions,
  ) {
    super(`The device \`${device}\` is not known. Known devices: ${known.join(', ')}.`, options);
  }
}

/**
 * A device exists but cannot be used here: its TF.js backend package is not installed, fails to
 * load, or fails to initialise. `device` names it; the message says what to install or check.
 */
export class DeviceUnavailableError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly device: string,
    message: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A model or cache was used while another TF.js backend than its device's was active. */
export class DeviceNotActiveError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly device: string,
    readonly activeBackend: string | undefined,
    options?: Fs2ErrorOptions,
  ) {
    super(
      `The model lives on the \`${device}\` device, but the active TF.js backend is ` +
        `\`${activeBackend ?? 'none'}\`. Call \`await useDevice('${device}')\` before using it.`,
      options,
    );
  }
}

/**
 * What a model needs from a device's memory budget, by part. All values are bytes.
 * `weights`: the parameters as float32; `packedWeights`: XNNPACK's packed copy of every matMul
 * weight (wasm only); `kvCache`: a KV cache of the largest length asked for; `activations`: the
 * working memory of one prefill chunk (an estimate).
 */
export interface MemoryBreakdown {
  readonly weights: number;
  readonly packedWeights: number;
  readonly kvCache: number;
  readonly activations: number;
}

/**
 * A model (or a KV cache) would not fit in the memory budget of its device. The wasm heap tops out
 * near 3.5 GiB and silently corrupts memory when it overflows, so fs2 refuses up front.
 */
export class HeapBudgetExceededError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly device: string,
    /** What was being allocated: `the model`, `a KV cache of 4096 positions`. */
    readonly what: string,
    readonly neededBytes: number,
    readonly availableBytes: number,
    readonly budgetBytes: number,
    readonly breakdown: Partial<MemoryBreakdown>,
    options?: Fs2ErrorOptions,
  ) {
    const parts = Object.entries(breakdown)
      .filter(([, v]) => v !== undefined && v > 0)
      .map(([k, v]) => `${BREAKDOWN_LABELS[k as keyof MemoryBreakdown]} ${formatBytes(v)}`);
    super(
      `${capitalize(what)} needs ${formatBytes(neededBytes)} of the \`${device}\` device's memory` +
        (parts.length > 0 ? ` (${parts.join(', ')})` : '') +
        `, but only ${formatBytes(availableBytes)} of its ${formatBytes(budgetBytes)} budget is available. ` +
        `Use a smaller model or a shorter maximum cache length, split the model across workers with ` +
        `tensor parallelism (\`tp\`), or use another device (\`cpu\`, or \`tensorflow\` with ` +
        `@tensorflow/tfjs-node installed).`,
      options,
    );
  }
}

const BREAKDOWN_LABELS: Record<keyof MemoryBreakdown, string> = {
  weights: 'weights',
  packedWeights: 'XNNPACK packed matMul weights',
  kvCache: 'KV cache',
  activations: 'activations',
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A `TransformerDecoderConfig` field has an invalid value. `field` names it. */
export class DecoderConfigError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly field: string,
    message: string,
    options?: Fs2ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A tensor of a state does not have the shape the model expects. */
export class ParameterShapeMismatchError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly key: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
    options?: Fs2ErrorOptions,
  ) {
    super(
      `The parameter \`${key}\` is expected to have the shape ${formatShape(expected)}, ` +
        `but the state has the shape ${formatShape(actual)} instead.`,
      options,
    );
  }
}

/**
 * A state does not hold exactly the model's parameters: `missing` lists the parameters it lacks,
 * `unexpected` the keys the model does not have, `duplicated` the keys it gave twice.
 */
export class StateKeyMismatchError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly missing: readonly string[],
    readonly unexpected: readonly string[],
    readonly duplicated: readonly string[] = [],
    options?: Fs2ErrorOptions,
  ) {
    const parts: string[] = [];
    if (missing.length > 0) {
      parts.push(`${missing.length} missing (${missing.join(', ')})`);
    }
    if (unexpected.length > 0) {
      parts.push(`${unexpected.length} unexpected (${unexpected.join(', ')})`);
    }
    if (duplicated.length > 0) {
      parts.push(`${duplicated.length} given more than once (${duplicated.join(', ')})`);
    }
    super(`The state does not match the model's parameters: ${parts.join('; ')}.`, options);
  }
}

/** A model was asked to compute before its weights were loaded, or after `dispose()`. */
export class ModelNotLoadedError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly reason: 'not_loaded' | 'disposed' | 'shape_only',
    options?: Fs2ErrorOptions,
  ) {
    super(
      reason === 'disposed'
        ? 'The model has been disposed; build and load a new one.'
        : reason === 'shape_only'
          ? 'The model was built without a device (shape only); pass `{ device }` to build one that can load weights.'
          : 'The model has no weights yet; call `loadState()` first.',
      options,
    );
  }
}

/** More positions were written to a KV cache than it was allocated for. */
export class KVCacheOverflowError extends Fs2Error {
  override readonly category = 'user' as const;

  constructor(
    readonly capacity: number,
    readonly length: number,
    readonly requested: number,
    options?: Fs2ErrorOptions,
  ) {
    super(
      `The KV cache holds ${length} of its ${capacity} positions and cannot take ${requested} more; ` +
        `create a cache with a larger capacity.`,
      options,
    );
  }
}
