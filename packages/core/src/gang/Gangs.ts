import { InternalError, InvalidArgumentError } from '../errors/Fs2Error.js';
import { FakeGang } from './FakeGang.js';
import type { Gang } from './Gang.js';

/**
 * The gangs of one rank, by parallelism: fairseq2's `Gangs`.
 *
 * - `root`: every rank;
 * - `dp`: the data-parallel gang (the ranks that hold the same model shard);
 * - `rdp`, `sdp`: the replicated and sharded data-parallel gangs of hybrid sharding (as
 *   {@link createParallelGangs} builds them: `rdp` is `dp` and `sdp` is fake);
 * - `tp`: the tensor-parallel gang (the ranks that together hold one copy of the model);
 * - `pp`: the pipeline-parallel gang, always a fake gang of size 1 (fairseq2 does not implement
 *   pipeline parallelism either).
 *
 * Invariant (fairseq2's): rank 0 of `root` is rank 0 in every gang.
 */
export interface Gangs {
  readonly root: Gang;
  readonly dp: Gang;
  readonly rdp: Gang;
  readonly sdp: Gang;
  readonly tp: Gang;
  readonly pp: Gang;
}

/** One fake gang of size 1 in every slot: the gangs of a single-process model (fairseq2's `create_fake_gangs`). */
export function createFakeGangs(): Gangs {
  const gang = new FakeGang();
  return { root: gang, dp: gang, rdp: gang, sdp: gang, tp: gang, pp: gang };
}

/**
 * The layout of `worldSize` ranks as a `dpSize x tpSize` mesh (fairseq2's
 * `arange(size).view(dp, tp)`): rank `r` sits at row `floor(r / tpSize)` and column `r % tpSize`.
 * Each row is a tensor-parallel gang, each column a data-parallel gang.
 */
export interface ParallelMesh {
  readonly worldSize: number;
  readonly dpSize: number;
  readonly tpSize: number;
  /** The ranks of each tensor-parallel gang (a row of the mesh), `dpSize` lists of `tpSize` ranks. */
  readonly tpGangs: readonly (readonly number[])[];
  /** The ranks of each data-parallel gang (a column of the mesh), `tpSize` lists of `dpSize` ranks. */
  readonly dpGangs: readonly (readonly number[])[];
}

/** Computes the {@link ParallelMesh} of `worldSize` ranks for a tensor-parallel size `tpSize`. */
export function computeParallelMesh(worldSize: number, tpSize: number): ParallelMesh {
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new InvalidArgumentError(
      'worldSize',
      `\`worldSize\` must be an integer greater than 0, but is ${worldSize} instead.`,
    );
  }
  if (!Number.isInteger(tpSize) || tpSize < 1) {
    throw new InvalidArgumentError('tpSize', `\`tpSize\` must be an integer greater than 0, but is ${tpSize} instead.`);
  }
  if (worldSize % tpSize !== 0) {
    throw new InvalidArgumentError(
      'tpSize',
      `The size of the root gang (${worldSize}) must be a multiple of \`tpSize\` (${tpSize}).`,
    );
  }
  const dpSize = worldSize / tpSize;
  const tpGangs = Array.from({ length: dpSize }, (_, row) => Array.from({ length: tpSize }, (_, col) => row * tpSize + col));
  const dpGangs = Array.from({ length: tpSize }, (_, col) => Array.from({ length: dpSize }, (_, row) => row * tpSize + col));
  return { worldSize, dpSize, tpSize, tpGangs, dpGangs };
}

/** Options of {@link createParallelGangs}. */
export interface ParallelGangsOptions {
  /** The size of the tensor-parallel gangs; must divide the root gang's size. Default 1. */
  readonly tpSize?: number;
}

/**
 * Splits `root` into data- and tensor-parallel gangs (fairseq2's `create_parallel_gangs`): the ranks
 * form a `dp x tp` mesh (see {@link computeParallelMesh}); this rank's `tp` gang is its row and its
 * `dp` gang its column. A gang of size 1 is a {@link FakeGang}, and a gang of every rank is `root`
 * itself; other gangs are created with `root.createGang()`, so this is a collective: every rank of
 * `root` calls it with the same options.
 *
 * Returns `{ root, dp, rdp: dp, sdp: fake, tp, pp: fake }`.
 */
export function createParallelGangs(root: Gang, options: ParallelGangsOptions = {}): Gangs {
  const mesh = computeParallelMesh(root.size, options.tpSize ?? 1);
  const row = Math.floor(root.rank / mesh.tpSize);
  const col = root.rank % mesh.tpSize;

  const dp = pickGang(root, mesh.dpSize, mesh.dpGangs, col);
  const tp = pickGang(root, mesh.tpSize, mesh.tpGangs, row);
  const fake = new FakeGang();
  return { root, dp, rdp: dp, sdp: fake, tp, pp: fake };
}

function pickGang(root: Gang, size: number, groups: readonly (readonly number[])[], mine: number): Gang {
  if (size === 1) {
    return new FakeGang();
  }
  if (size === root.size) {
    return root;
  }
  let picked: Gang | undefined;
  groups.forEach((ranks, index) => {
    // Every rank creates every group, in the same order: createGang is a collective of `root`.
    const gang = root.createGang(ranks);
    if (index === mine) {
      picked = gang;
    }
  });
  if (picked === undefined) {
    // createGang returns a gang for every rank it names, and `mine` names this rank's group.
    throw new InternalError(`Rank ${root.rank} is missing from its own parallel gang.`);
  }
  return picked;
}
