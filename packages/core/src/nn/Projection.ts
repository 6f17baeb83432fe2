import type * as tf from '@tensorflow/tfjs';

import { Linear } from './Linear.js';
import type { Module } from './Module.js';

/** A module that maps `[n, inDim]` to `[n, outDim]`: a {@link Linear}, or a tensor-parallel projection. */
export type Projection = Module & { apply(x: tf.Tensor2D): tf.Tensor2D };

/**
 * Builds the projection named `name` from `inDim` to `outDim` features (fs2 parameters
 * `<name>.weight` `[inDim, outDim]`): how a block lets its caller choose the kind of its output
 * projection (a plain {@link Linear}, or a row-sharded one under tensor parallelism).
 */
export type ProjectionFactory = (name: string, inDim: number, outDim: number) => Projection;

/** The default {@link ProjectionFactory}: a bias-free {@link Linear}. */
export const linearProjection: ProjectionFactory = (name, inDim, outDim) => new Linear(name, inDim, outDim);
