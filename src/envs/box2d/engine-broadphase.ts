/**
 * Box2D 2.3.0's b2BroadPhase::UpdatePairs on planck 1.4.2: the order in which new contacts are made.
 *
 * Box2D collects every pair the moved proxies' tree queries find, sorts them by (proxyIdA, proxyIdB),
 * drops duplicates, and only then creates the contacts, each put at the head of the world's contact
 * list. planck 1.4.2 creates a contact for each pair as the tree query meets it (moved proxies taken
 * last first), so the same contacts end up in another order in the world's and the bodies' contact
 * lists, and the islands' sequential-impulse solver visits them in another order. Where that matters
 * is a body touching two fixtures at once: a BipedalWalker's lower leg stands on the vertex where
 * two terrain edges meet (x = 10 · 14/30 m, on every seed), planck solved the edges in the other
 * order, and the impulses split differently between them (the lower leg's normal impulse 2.08 on one
 * edge and 0.98 on the other, against Box2D's 1.50 and 0.95): every walker episode left 2e-4 of
 * Gymnasium's observations on its first step, knees 1e-2 rad apart. Measured against Box2D 2.3.0's own
 * C++ (pybox2d 2.3.10's sources) built in float and in double and driven with the walker's world and
 * Gymnasium's recorded actions: the float build reproduces Gymnasium's body states to print
 * precision; the double build stays within 2e-4 of them for 4 to 149 steps; planck with this order
 * agrees with the double build to 1e-7 over 75 steps, and without it leaves it on the first step
 * (with continuous collision off in both as well, so time of impact was not the cause).
 *
 * Proxy ids give the same order as Box2D's: both trees number a leaf when its fixture is made (planck
 * counts up, Box2D takes nodes from a free list that, in a world where nothing was destroyed, also
 * hands out increasing ids), and both keep a leaf's id while it moves.
 */
import * as planck from 'planck';

/** The parts of planck's broad phase this reads (its fields are internal). */
interface BroadPhaseInternals {
  m_tree: planck.DynamicTree<planck.FixtureProxy>;
  m_moveBuffer: (number | null)[];
}

/** Pair buffer reused by every world (a step runs to its end before another starts, on one thread). */
let pairs: number[] = [];
let pairCount = 0;
let queryProxyId = 0;

function collectPair(proxyId: number): boolean {
  // A proxy cannot form a pair with itself.
  if (proxyId === queryProxyId) return true;
  const a = proxyId < queryProxyId ? proxyId : queryProxyId;
  const b = proxyId < queryProxyId ? queryProxyId : proxyId;
  if (2 * pairCount + 2 > pairs.length) pairs = pairs.concat(new Array<number>(pairs.length + 64).fill(0));
  // Insertion into sorted order (b2PairLessThan): a step moves a few proxies and finds a few pairs,
  // a new world's first step a few hundred; insertion keeps it free of allocation and comparators.
  let i = pairCount;
  while (i > 0) {
    const pa = pairs[2 * i - 2];
    const pb = pairs[2 * i - 1];
    if (pa < a || (pa === a && pb <= b)) break;
    pairs[2 * i] = pa;
    pairs[2 * i + 1] = pb;
    i--;
  }
  pairs[2 * i] = a;
  pairs[2 * i + 1] = b;
  pairCount++;
  return true;
}

function updatePairs(this: planck.BroadPhase, addPair: (a: planck.FixtureProxy, b: planck.FixtureProxy) => void): void {
  const { m_tree: tree, m_moveBuffer: moveBuffer } = this as unknown as BroadPhaseInternals;
  pairCount = 0;
  // Box2D walks its move buffer from the first moved proxy; the order of the queries does not
  // matter once the pairs are sorted.
  for (let i = 0; i < moveBuffer.length; i++) {
    const id = moveBuffer[i];
    if (id === null) continue;
    queryProxyId = id;
    tree.query(tree.getFatAABB(id), collectPair);
  }
  moveBuffer.length = 0;
  // Send the pairs in order, each once.
  const count = pairCount;
  for (let i = 0; i < count; ) {
    const a = pairs[2 * i];
    const b = pairs[2 * i + 1];
    addPair(tree.getUserData(a), tree.getUserData(b));
    i++;
    while (i < count && pairs[2 * i] === a && pairs[2 * i + 1] === b) i++;
  }
}

(planck.BroadPhase.prototype as unknown as { updatePairs: typeof updatePairs }).updatePairs = updatePairs;
