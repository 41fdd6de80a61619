/**
 * The 2D physics engine of the Box2D envs: planck 1.4.2, a JavaScript port of Box2D 2.3 (the line
 * Gymnasium's pybox2d 2.3.10 bundles), with one repair. Chosen by measurement against Gymnasium's
 * own episodes (docs/box2d.md): with the repair, LunarLander's random episodes stay within 2e-4 of
 * Gymnasium's for their whole length and resets agree to 1.2e-7, while the Box2D 2.4 engines
 * (`@box2d/core`, and `box2d-wasm` in single precision) solve the legs' joint limits their own way
 * and leave the tolerance at step 23 of every episode. Later planck releases declare Node ≥ 24.
 *
 * planck computes in double precision where Box2D computes in float32: trajectories agree to about
 * 1e-6 until a contact-rich moment (a landing, a walker's step) amplifies the difference.
 */
import * as planck from 'planck';

export { planck };

/** Gymnasium's `world.Step(1.0 / FPS, 6 * 30, 2 * 30)`, every Box2D env at 50 frames per second. */
export const FPS = 50;
const VELOCITY_ITERATIONS = 6 * 30;
const POSITION_ITERATIONS = 2 * 30;

export function stepWorld(world: planck.World): void {
  world.step(1.0 / FPS, VELOCITY_ITERATIONS, POSITION_ITERATIONS);
}

/**
 * Box2D 2.3's b2PolygonShape::ComputeMass. planck 1.4.2's version reuses module-level temporary
 * vectors and returns a wrong centre of mass for polygons whose vertex average is not their
 * centroid: LunarLander's hull came out 2.3 px below Box2D's (y 0.0778 instead of 0.1013 m), which
 * alone moved the first reset observation by 2.4e-3 and every episode off at step 0.
 */
function polygonMass(this: planck.PolygonShape, massData: planck.MassData, density: number): void {
  const shape = this as unknown as { m_count: number; m_vertices: planck.Vec2Value[] };
  const count = shape.m_count;
  const v = shape.m_vertices;
  // A reference point inside the polygon (the vertex average) keeps the sums well-conditioned.
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < count; i++) {
    sx += v[i].x;
    sy += v[i].y;
  }
  sx *= 1 / count;
  sy *= 1 / count;
  const inv3 = 1 / 3;
  let area = 0;
  let cx = 0;
  let cy = 0;
  let inertia = 0;
  for (let i = 0; i < count; i++) {
    const a = v[i];
    const b = v[i + 1 < count ? i + 1 : 0];
    const e1x = a.x - sx;
    const e1y = a.y - sy;
    const e2x = b.x - sx;
    const e2y = b.y - sy;
    const d = e1x * e2y - e1y * e2x;
    const triangleArea = 0.5 * d;
    area += triangleArea;
    cx += triangleArea * inv3 * (e1x + e2x);
    cy += triangleArea * inv3 * (e1y + e2y);
    const intx2 = e1x * e1x + e2x * e1x + e2x * e2x;
    const inty2 = e1y * e1y + e2y * e1y + e2y * e2y;
    inertia += 0.25 * inv3 * d * (intx2 + inty2);
  }
  massData.mass = density * area;
  cx *= 1 / area;
  cy *= 1 / area;
  const center = planck.Vec2(cx + sx, cy + sy);
  massData.center = center;
  massData.I = density * inertia + massData.mass * (center.x * center.x + center.y * center.y - (cx * cx + cy * cy));
}
planck.PolygonShape.prototype.computeMass = polygonMass;

/** Box2D's fixture defaults as pybox2d's `fixtureDef` has them (friction 0.2, no restitution). */
export interface FixtureOptions {
  density?: number;
  friction?: number;
  restitution?: number;
  categoryBits?: number;
  maskBits?: number;
}

export function addFixture(body: planck.Body, shape: planck.Shape, options: FixtureOptions = {}): planck.Fixture {
  return body.createFixture(shape, {
    density: options.density ?? 0,
    friction: options.friction ?? 0.2,
    restitution: options.restitution ?? 0,
    filterCategoryBits: options.categoryBits ?? 0x0001,
    filterMaskBits: options.maskBits ?? 0xffff,
  });
}

/** A polygon from Gymnasium's vertex list (Box2D computes its hull, as pybox2d's `polygonShape(vertices=...)`). */
export function polygon(vertices: readonly (readonly [number, number])[]): planck.PolygonShape {
  return new planck.PolygonShape(vertices.map(([x, y]) => planck.Vec2(x, y)));
}
