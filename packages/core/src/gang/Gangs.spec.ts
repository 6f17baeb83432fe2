import { describe, expect, it } from '@jest/globals';

import { InvalidArgumentError } from '../errors/Fs2Error.js';
import { FakeGang } from './FakeGang.js';
import { computeParallelMesh, createFakeGangs, createParallelGangs } from './Gangs.js';

describe(computeParallelMesh, () => {
  it('lays 8 ranks out as 4 x 2: tensor-parallel rows, data-parallel columns (fairseq2 docstring)', () => {
    const mesh = computeParallelMesh(8, 2);

    expect(mesh).toEqual({
      worldSize: 8,
      dpSize: 4,
      tpSize: 2,
      tpGangs: [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
      ],
      dpGangs: [
        [0, 2, 4, 6],
        [1, 3, 5, 7],
      ],
    });
  });

  it.each([
    [6, 3, [[0, 1, 2], [3, 4, 5]], [[0, 3], [1, 4], [2, 5]]],
    [4, 4, [[0, 1, 2, 3]], [[0], [1], [2], [3]]],
    [3, 1, [[0], [1], [2]], [[0, 1, 2]]],
  ])('lays %i ranks out with tp %i', (worldSize, tpSize, tpGangs, dpGangs) => {
    const mesh = computeParallelMesh(worldSize, tpSize);

    expect(mesh.tpGangs).toEqual(tpGangs);
    expect(mesh.dpGangs).toEqual(dpGangs);
    expect(mesh.dpSize * mesh.tpSize).toBe(worldSize);
  });

  it.each([
    [6, 4, 'tpSize', 'The size of the root gang (6) must be a multiple of `tpSize` (4).'],
    [6, 0, 'tpSize', '`tpSize` must be an integer greater than 0, but is 0 instead.'],
    [6, 1.5, 'tpSize', '`tpSize` must be an integer greater than 0, but is 1.5 instead.'],
    [0, 1, 'worldSize', '`worldSize` must be an integer greater than 0, but is 0 instead.'],
  ])('rejects %i ranks with tp %s', (worldSize, tpSize, argument, message) => {
    expect(() => computeParallelMesh(worldSize, tpSize)).toThrow(new InvalidArgumentError(argument, message));
  });
});

describe(createFakeGangs, () => {
  it('puts one fake gang of size 1 in every slot', () => {
    const gangs = createFakeGangs();

    expect(gangs.root).toBeInstanceOf(FakeGang);
    expect([gangs.root.rank, gangs.root.size]).toEqual([0, 1]);
    for (const gang of [gangs.dp, gangs.rdp, gangs.sdp, gangs.tp, gangs.pp]) {
      expect(gang).toBe(gangs.root);
    }
  });
});

describe(createParallelGangs, () => {
  it.each([
    // rank, tp rank/size, dp rank/size
    [0, [0, 2], [0, 4]],
    [1, [1, 2], [0, 4]],
    [4, [0, 2], [2, 4]],
    [7, [1, 2], [3, 4]],
  ])('places rank %i of 8 in its row and column for tp 2', (rank, tp, dp) => {
    const gangs = createParallelGangs(new FakeGang({ rank, size: 8 }), { tpSize: 2 });

    expect([gangs.tp.rank, gangs.tp.size]).toEqual(tp);
    expect([gangs.dp.rank, gangs.dp.size]).toEqual(dp);
    expect(gangs.rdp).toBe(gangs.dp);
    expect([gangs.sdp.size, gangs.pp.size]).toEqual([1, 1]);
  });

  it('uses the root gang itself for a gang of every rank, and a fake gang for a gang of one', () => {
    const root = new FakeGang({ rank: 1, size: 2 });

    const tpOnly = createParallelGangs(root, { tpSize: 2 });
    const dpOnly = createParallelGangs(root);

    expect(tpOnly.tp).toBe(root);
    expect([tpOnly.dp.rank, tpOnly.dp.size]).toEqual([0, 1]);
    expect(dpOnly.dp).toBe(root);
    expect([dpOnly.tp.rank, dpOnly.tp.size]).toEqual([0, 1]);
  });

  it('keeps root rank 0 at rank 0 of every gang', () => {
    const gangs = createParallelGangs(new FakeGang({ rank: 0, size: 6 }), { tpSize: 3 });

    expect([gangs.root, gangs.dp, gangs.rdp, gangs.sdp, gangs.tp, gangs.pp].map((g) => g.rank)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('rejects a tp size that does not divide the root gang', () => {
    expect(() => createParallelGangs(new FakeGang({ size: 3 }), { tpSize: 2 })).toThrow(
      'The size of the root gang (3) must be a multiple of `tpSize` (2).',
    );
  });
});
