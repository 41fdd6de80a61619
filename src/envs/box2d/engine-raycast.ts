/**
 * planck 1.4.2's World.rayCast (with the DynamicTree.rayCast it calls, Box2D 2.3's
 * b2DynamicTree::RayCast) with the same arithmetic in the same order, on local numbers. Installed
 * by engine.ts.
 *
 * Why: BipedalWalker casts its ten lidar rays every step through a tree of ~200 terrain fixtures,
 * and planck's walk allocated two or three vectors per tree node it visited (centre, extents,
 * differences) and five more per fixture it tested: 48 KB of a walker step's 72 KB (sampled heap
 * profile), and the cast was 16% of the step's CPU (docs/box2d.md, "Speed").
 *
 * The shapes' own ray tests (`Fixture.rayCast`, i.e. EdgeShape/PolygonShape.rayCast) are called as
 * planck's are and left alone: what a ray hits and at which fraction is theirs; this file only
 * decides, as planck does, which fixtures are asked and with which maximum fraction.
 */
import * as planck from 'planck';

interface XY {
  x: number;
  y: number;
}
interface TreeNode {
  aabb: { lowerBound: XY; upperBound: XY };
  userData: { fixture: planck.Fixture; childIndex: number };
  child1: TreeNode | null;
  child2: TreeNode | null;
}
interface RayInput {
  p1: planck.Vec2;
  p2: planck.Vec2;
  maxFraction: number;
}
type RayCallback = (fixture: planck.Fixture, point: planck.Vec2, normal: planck.Vec2, fraction: number) => number;

/** planck's EPSILON (Vec2.normalize leaves a shorter vector as it is). */
const EPSILON = 1e-9;

/** One traversal stack and leaf input per nesting level: a callback may cast another ray. */
const stacks: (TreeNode | null)[][] = [];
const inputs: RayInput[] = [];
let depth = 0;

function rayCast(this: planck.World, point1: planck.Vec2Value, point2: planck.Vec2Value, callback: RayCallback): void {
  const tree = (this as unknown as { m_broadPhase: { m_tree: { m_root: TreeNode | null } } }).m_broadPhase.m_tree;
  const stack = (stacks[depth] ??= []);
  const subInput = (inputs[depth] ??= { p1: planck.Vec2(0, 0), p2: planck.Vec2(0, 0), maxFraction: 1 });
  depth++;
  try {
    const p1x = point1.x;
    const p1y = point1.y;
    const p2x = point2.x;
    const p2y = point2.y;
    // r = normalize(p2 - p1); v = cross(1, r); abs_v = |v|.
    let rx = p2x - p1x;
    let ry = p2y - p1y;
    const length = Math.sqrt(rx * rx + ry * ry);
    if (!(length < EPSILON)) {
      const invLength = 1 / length;
      rx *= invLength;
      ry *= invLength;
    }
    const vx = -1 * ry;
    const vy = 1 * rx;
    const absVx = Math.abs(vx);
    const absVy = Math.abs(vy);
    let maxFraction = 1;
    // The segment's box, from p1 to p1 + maxFraction·(p2 - p1) as Vec2.combine computes it.
    let tx = (1 - maxFraction) * p1x + maxFraction * p2x;
    let ty = (1 - maxFraction) * p1y + maxFraction * p2y;
    let lowerX = Math.min(p1x, tx);
    let lowerY = Math.min(p1y, ty);
    let upperX = Math.max(p1x, tx);
    let upperY = Math.max(p1y, ty);
    let count = 0;
    let high = 1;
    stack[count++] = tree.m_root;
    while (count > 0) {
      const node = stack[--count];
      if (node == null) continue;
      const lower = node.aabb.lowerBound;
      const upper = node.aabb.upperBound;
      // AABB.testOverlap(node.aabb, segmentAABB)
      const d1x = lowerX - upper.x;
      const d2x = lower.x - upperX;
      const d1y = lowerY - upper.y;
      const d2y = lower.y - upperY;
      if (d1x > 0 || d1y > 0 || d2x > 0 || d2y > 0) continue;
      const cx = (lower.x + upper.x) * 0.5;
      const cy = (lower.y + upper.y) * 0.5;
      const hx = (upper.x - lower.x) * 0.5;
      const hy = (upper.y - lower.y) * 0.5;
      const separation = Math.abs(vx * (p1x - cx) + vy * (p1y - cy)) - (absVx * hx + absVy * hy);
      if (separation > 0) continue;
      if (node.child1 == null) {
        subInput.p1.x = p1x;
        subInput.p1.y = p1y;
        subInput.p2.x = p2x;
        subInput.p2.y = p2y;
        subInput.maxFraction = maxFraction;
        // World.rayCast's leaf callback: the fixture's own ray test, then the caller's callback.
        const { fixture, childIndex } = node.userData;
        const output = {} as planck.RayCastOutput;
        let value: number;
        if (fixture.rayCast(output, subInput, childIndex)) {
          const fraction = output.fraction;
          const point = planck.Vec2((1 - fraction) * subInput.p1.x + fraction * subInput.p2.x, (1 - fraction) * subInput.p1.y + fraction * subInput.p2.y);
          value = callback(fixture, point, output.normal, fraction);
        } else {
          value = subInput.maxFraction;
        }
        if (value === 0) break;
        if (value > 0) {
          maxFraction = value;
          tx = (1 - maxFraction) * p1x + maxFraction * p2x;
          ty = (1 - maxFraction) * p1y + maxFraction * p2y;
          lowerX = Math.min(p1x, tx);
          lowerY = Math.min(p1y, ty);
          upperX = Math.max(p1x, tx);
          upperY = Math.max(p1y, ty);
        }
      } else {
        stack[count++] = node.child1;
        stack[count++] = node.child2;
        if (count > high) high = count;
      }
    }
    // Drop the references to this world's nodes (keeping the array's storage for the next ray).
    for (let i = 0; i < high; i++) stack[i] = null;
  } finally {
    depth--;
  }
}

/** Puts rayCast above in place of planck's World.rayCast (engine.ts calls it once, on load). */
export function installRayCast(): void {
  (planck.World.prototype as unknown as { rayCast: typeof rayCast }).rayCast = rayCast;
}
