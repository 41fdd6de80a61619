/**
 * Two orders in which planck 1.4.2 differs from Box2D 2.3.0 (the C++ that Gymnasium's pybox2d 2.3.10
 * bundles), put back: the order of new contacts, and the order of a box's vertices. Neither changes
 * what touches what; both change the order in which the sequential-impulse solver meets the same
 * contact points, and a walker's lower leg standing on the vertex where two terrain edges meet
 * (x = 10 · 14/30 m, on every seed) makes that order visible at once.
 *
 * How it was found: Box2D 2.3.0's own C++ (pybox2d 2.3.10's sources), built once in float and once in
 * double, driven with the walker's world and Gymnasium's recorded actions. The float build reproduces
 * Gymnasium's body states to print precision over every recorded episode (12, up to 200 steps), so it
 * is Gymnasium's engine; the double build stays within 2e-4 of it for 4 to 149 steps. planck left the
 * double build on the first step (knees 1e-2 rad apart; as much with continuous collision off in
 * both, so time of impact was not the cause); contact-by-contact traces showed the same manifolds
 * solved in another order (below). With both orders put back, planck agrees with the double build to
 * 1e-7 for 75-124 steps on all six walker seeds. What is left is float32 arithmetic (docs/box2d.md).
 */
import * as planck from 'planck';

/*
 * Contacts: Box2D's b2BroadPhase::UpdatePairs collects every pair the moved proxies' tree queries find,
 * sorts them by (proxyIdA, proxyIdB), drops duplicates, and only then creates the contacts, each put
 * at the head of the world's contact list. planck 1.4.2 creates a contact for each pair as the tree
 * query meets it (moved proxies taken last first), so the same contacts sit in another order in the
 * world's and the bodies' contact lists, and the islands' solver visits them in another order: on the
 * walker's first step the lower leg's normal impulses came out 2.08 and 0.98 on the two edges, against
 * Box2D's 1.50 and 0.95, and every walker episode left 2e-4 of Gymnasium's observations on step 0.
 *
 * Proxy ids give the same order as Box2D's: both trees number a leaf when its fixture is made (planck
 * counts up, Box2D takes nodes from a free list that, in a world where nothing was destroyed, also
 * hands out increasing ids), and both keep a leaf's id while it moves.
 */

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

/*
 * Boxes: Box2D's b2PolygonShape::SetAsBox (pybox2d's `polygonShape(box=...)`) numbers the corners from
 * (-hx, -hy) counter-clockwise; planck's from (hx, -hy). The numbers are the contact features' ids, by
 * which a step's new manifold points take over the last step's impulses (warm starting): in Box2D a
 * lower leg's corner on an edge (edge face 0, box vertex 0) and the same corner once the manifold
 * turns to the box's face (box face 0, edge vertex 0) have the same id and keep their impulse; with
 * planck's numbering they did not (seed 8's third step: an impulse of 1.81 warm-started in Box2D,
 * 0 in planck), and walker episodes that had held left Box2D's double build at steps 3 and 5.
 * Box2D's numbering also settles ties in the collision routines (the first of equal separations).
 */
function setAsBox(this: planck.PolygonShape, hx: number, hy: number, center?: planck.Vec2Value, angle?: number): void {
  const shape = this as unknown as { m_vertices: planck.Vec2[]; m_normals: planck.Vec2[]; m_count: number; m_centroid: planck.Vec2 };
  shape.m_count = 4;
  shape.m_vertices[0] = planck.Vec2.neo(-hx, -hy);
  shape.m_vertices[1] = planck.Vec2.neo(hx, -hy);
  shape.m_vertices[2] = planck.Vec2.neo(hx, hy);
  shape.m_vertices[3] = planck.Vec2.neo(-hx, hy);
  shape.m_normals[0] = planck.Vec2.neo(0.0, -1.0);
  shape.m_normals[1] = planck.Vec2.neo(1.0, 0.0);
  shape.m_normals[2] = planck.Vec2.neo(0.0, 1.0);
  shape.m_normals[3] = planck.Vec2.neo(-1.0, 0.0);
  if (center && planck.Vec2.isValid(center)) {
    shape.m_centroid.x = center.x;
    shape.m_centroid.y = center.y;
    const xf = planck.Transform.identity();
    xf.p.setVec2(center);
    xf.q.setAngle(angle ?? 0);
    for (let i = 0; i < 4; i++) {
      shape.m_vertices[i] = planck.Transform.mulVec2(xf, shape.m_vertices[i]);
      shape.m_normals[i] = planck.Rot.mulVec2(xf.q, shape.m_normals[i]);
    }
  }
}
(planck.PolygonShape.prototype as unknown as { _setAsBox: typeof setAsBox })._setAsBox = setAsBox;
