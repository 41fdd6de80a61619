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
 *
 * Longer than 400 lines: the revolute joint's three solver functions on local numbers live here
 * beside the step they serve (the contact solver and the ray cast have files of their own).
 */
import * as planck from 'planck';
// Box2D 2.3.0's order of new contacts and of a box's corners: without them every BipedalWalker
// episode left Gymnasium's observations on its first step (engine-order.ts).
import './engine-order.js';
import { installContactSolver } from './engine-contact.js';
import { installRayCast } from './engine-raycast.js';

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

/** planck's revolute joint state, as its solver reads it. */
interface RevoluteInternals {
  m_bodyA: { c_velocity: { v: planck.Vec2; w: number } };
  m_bodyB: { c_velocity: { v: planck.Vec2; w: number } };
  m_invMassA: number;
  m_invMassB: number;
  m_invIA: number;
  m_invIB: number;
  m_rA: planck.Vec2;
  m_rB: planck.Vec2;
  m_mass: { ex: planck.Vec3; ey: planck.Vec3; ez: planck.Vec3 };
  m_impulse: planck.Vec3;
  m_motorImpulse: number;
  m_motorMass: number;
  m_motorSpeed: number;
  m_maxMotorTorque: number;
  m_enableMotor: boolean;
  m_enableLimit: boolean;
  m_limitState: number;
  /** K's 2×2 block inverted (planck's det2, computed per solve), set by initRevoluteVelocity. */
  det22: number;
  /** ey × ez of K and K's inverted determinant (planck's solve33, per solve), set by initRevoluteVelocity. */
  eyEzX: number;
  eyEzY: number;
  eyEzZ: number;
  det33: number;
}
const INACTIVE_LIMIT = 0;
const AT_LOWER_LIMIT = 1;
const AT_UPPER_LIMIT = 2;
const EQUAL_LIMITS = 3;
const LINEAR_SLOP = planck.Settings.linearSlop * planck.Settings.lengthUnitsPerMeter;
const ANGULAR_SLOP = planck.Settings.angularSlop;
const MAX_ANGULAR_CORRECTION = planck.Settings.maxAngularCorrection;
const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** What initVelocityConstraints reads besides the velocity solver's fields. */
interface RevoluteInitInternals extends RevoluteInternals {
  m_bodyA: RevoluteInternals['m_bodyA'] & BodyStepInternals;
  m_bodyB: RevoluteInternals['m_bodyB'] & BodyStepInternals;
  m_localAnchorA: planck.Vec2Value;
  m_localAnchorB: planck.Vec2Value;
  m_localCenterA: planck.Vec2Value;
  m_localCenterB: planck.Vec2Value;
  m_referenceAngle: number;
  m_lowerAngle: number;
  m_upperAngle: number;
}
interface BodyStepInternals {
  m_sweep: { localCenter: planck.Vec2Value };
  m_invMass: number;
  m_invI: number;
  c_position: { a: number };
}

/**
 * planck 1.4.2's RevoluteJoint.initVelocityConstraints, same arithmetic in the same order on local
 * numbers (planck's allocated two rotations and five vectors per joint and step: 470 B of a
 * LunarLander step's 3.8 KB once the contact solver stopped allocating). It also computes, once a
 * step, the parts of K⁻¹ that planck's velocity solver recomputed on each of its 180 calls (the
 * same expressions on the same K, so the same bits).
 */
function initRevoluteVelocity(this: planck.RevoluteJoint, step: { warmStarting: boolean; dtRatio: number }): void {
  const j = this as unknown as RevoluteInitInternals;
  const bodyA = j.m_bodyA;
  const bodyB = j.m_bodyB;
  j.m_localCenterA = bodyA.m_sweep.localCenter;
  j.m_localCenterB = bodyB.m_sweep.localCenter;
  j.m_invMassA = bodyA.m_invMass;
  j.m_invMassB = bodyB.m_invMass;
  j.m_invIA = bodyA.m_invI;
  j.m_invIB = bodyB.m_invI;
  const aA = bodyA.c_position.a;
  const vA = bodyA.c_velocity.v;
  let wA = bodyA.c_velocity.w;
  const aB = bodyB.c_position.a;
  const vB = bodyB.c_velocity.v;
  let wB = bodyB.c_velocity.w;
  // rA = Rot(aA)·(localAnchorA - localCenterA), and B's.
  const sA = Math.sin(aA);
  const cosA = Math.cos(aA);
  const sB = Math.sin(aB);
  const cosB = Math.cos(aB);
  const lAx = j.m_localAnchorA.x - j.m_localCenterA.x;
  const lAy = j.m_localAnchorA.y - j.m_localCenterA.y;
  const lBx = j.m_localAnchorB.x - j.m_localCenterB.x;
  const lBy = j.m_localAnchorB.y - j.m_localCenterB.y;
  const rAx = cosA * lAx - sA * lAy;
  const rAy = sA * lAx + cosA * lAy;
  const rBx = cosB * lBx - sB * lBy;
  const rBy = sB * lBx + cosB * lBy;
  // planck makes new vectors here each step (a joint has none before its first); these are reused.
  const jointRA = (j.m_rA ??= planck.Vec2(0, 0));
  const jointRB = (j.m_rB ??= planck.Vec2(0, 0));
  jointRA.x = rAx;
  jointRA.y = rAy;
  jointRB.x = rBx;
  jointRB.y = rBy;
  const mA = j.m_invMassA;
  const mB = j.m_invMassB;
  const iA = j.m_invIA;
  const iB = j.m_invIB;
  const fixedRotation = iA + iB === 0;
  const { ex, ey, ez } = j.m_mass;
  ex.x = mA + mB + rAy * rAy * iA + rBy * rBy * iB;
  ey.x = -rAy * rAx * iA - rBy * rBx * iB;
  ez.x = -rAy * iA - rBy * iB;
  ex.y = ey.x;
  ey.y = mA + mB + rAx * rAx * iA + rBx * rBx * iB;
  ez.y = rAx * iA + rBx * iB;
  ex.z = ez.x;
  ey.z = ez.y;
  ez.z = iA + iB;
  // The velocity solver's per-call inverses, as it computed them.
  let det22 = ex.x * ey.y - ey.x * ex.y;
  if (det22 !== 0) det22 = 1 / det22;
  j.det22 = det22;
  const eyEzX = ey.y * ez.z - ey.z * ez.y;
  const eyEzY = ey.z * ez.x - ey.x * ez.z;
  const eyEzZ = ey.x * ez.y - ey.y * ez.x;
  let det33 = ex.x * eyEzX + ex.y * eyEzY + ex.z * eyEzZ;
  if (det33 !== 0) det33 = 1 / det33;
  j.eyEzX = eyEzX;
  j.eyEzY = eyEzY;
  j.eyEzZ = eyEzZ;
  j.det33 = det33;
  j.m_motorMass = iA + iB;
  if (j.m_motorMass > 0) j.m_motorMass = 1 / j.m_motorMass;
  if (j.m_enableMotor == false || fixedRotation) j.m_motorImpulse = 0;
  const impulse = j.m_impulse;
  if (j.m_enableLimit && fixedRotation == false) {
    const jointAngle = aB - aA - j.m_referenceAngle;
    if (Math.abs(j.m_upperAngle - j.m_lowerAngle) < 2 * ANGULAR_SLOP) {
      j.m_limitState = EQUAL_LIMITS;
    } else if (jointAngle <= j.m_lowerAngle) {
      if (j.m_limitState != AT_LOWER_LIMIT) impulse.z = 0;
      j.m_limitState = AT_LOWER_LIMIT;
    } else if (jointAngle >= j.m_upperAngle) {
      if (j.m_limitState != AT_UPPER_LIMIT) impulse.z = 0;
      j.m_limitState = AT_UPPER_LIMIT;
    } else {
      j.m_limitState = INACTIVE_LIMIT;
      impulse.z = 0;
    }
  } else {
    j.m_limitState = INACTIVE_LIMIT;
  }
  if (step.warmStarting) {
    impulse.x *= step.dtRatio;
    impulse.y *= step.dtRatio;
    impulse.z *= step.dtRatio;
    j.m_motorImpulse *= step.dtRatio;
    const px = impulse.x;
    const py = impulse.y;
    vA.x -= mA * px;
    vA.y -= mA * py;
    wA -= iA * (rAx * py - rAy * px + j.m_motorImpulse + impulse.z);
    vB.x += mB * px;
    vB.y += mB * py;
    wB += iB * (rBx * py - rBy * px + j.m_motorImpulse + impulse.z);
  } else {
    impulse.x = 0;
    impulse.y = 0;
    impulse.z = 0;
    j.m_motorImpulse = 0;
  }
  bodyA.c_velocity.w = wA;
  bodyB.c_velocity.w = wB;
}
(planck.RevoluteJoint.prototype as unknown as { initVelocityConstraints: typeof initRevoluteVelocity }).initVelocityConstraints = initRevoluteVelocity;

/**
 * planck 1.4.2's RevoluteJoint.solveVelocityConstraints with the same arithmetic in the same order,
 * but on local numbers: planck's allocates five or six vectors per call, the solver calls it 180
 * times a step per joint, and the garbage collector took 38% of a LunarLander step (1.5 of 3.8 s in
 * a profile of 3,000 steps). Trajectories are bit for bit those of planck's own (checked by hashing
 * 1,600 steps of the three envs before and after).
 */
function solveRevoluteVelocity(this: planck.RevoluteJoint, step: { dt: number }): void {
  const j = this as unknown as RevoluteInternals;
  const vA = j.m_bodyA.c_velocity.v;
  let wA = j.m_bodyA.c_velocity.w;
  const vB = j.m_bodyB.c_velocity.v;
  let wB = j.m_bodyB.c_velocity.w;
  const mA = j.m_invMassA;
  const mB = j.m_invMassB;
  const iA = j.m_invIA;
  const iB = j.m_invIB;
  const fixedRotation = iA + iB === 0;
  if (j.m_enableMotor && j.m_limitState !== EQUAL_LIMITS && !fixedRotation) {
    const cdot = wB - wA - j.m_motorSpeed;
    let impulse = -j.m_motorMass * cdot;
    const oldImpulse = j.m_motorImpulse;
    const maxImpulse = step.dt * j.m_maxMotorTorque;
    const sum = j.m_motorImpulse + impulse;
    j.m_motorImpulse = sum < -maxImpulse ? -maxImpulse : sum > maxImpulse ? maxImpulse : sum;
    impulse = j.m_motorImpulse - oldImpulse;
    wA -= iA * impulse;
    wB += iB * impulse;
  }
  const rA = j.m_rA;
  const rB = j.m_rB;
  const { ex, ey, ez } = j.m_mass;
  // Cdot1 = vB + wB × rB - vA - wA × rA, summed as planck's addCombine/subCombine do.
  const cdot1x = vB.x + -wB * rB.y - (vA.x + -wA * rA.y);
  const cdot1y = vB.y + wB * rB.x - (vA.y + wA * rA.x);
  let px: number;
  let py: number;
  if (j.m_enableLimit && j.m_limitState !== INACTIVE_LIMIT && !fixedRotation) {
    const cdot2 = wB - wA;
    // impulse = -K⁻¹·Cdot (Mat33.solve33, then negated; ey × ez and det are the same every call).
    const det = j.det33;
    let ix = -(det * (cdot1x * j.eyEzX + cdot1y * j.eyEzY + cdot2 * j.eyEzZ));
    let crossX = cdot1y * ez.z - cdot2 * ez.y;
    let crossY = cdot2 * ez.x - cdot1x * ez.z;
    let crossZ = cdot1x * ez.y - cdot1y * ez.x;
    let iy = -(det * (ex.x * crossX + ex.y * crossY + ex.z * crossZ));
    crossX = ey.y * cdot2 - ey.z * cdot1y;
    crossY = ey.z * cdot1x - ey.x * cdot2;
    crossZ = ey.x * cdot1y - ey.y * cdot1x;
    let iz = -(det * (ex.x * crossX + ex.y * crossY + ex.z * crossZ));
    const accumulated = j.m_impulse;
    const clampLower = j.m_limitState === AT_LOWER_LIMIT && accumulated.z + iz < 0;
    const clampUpper = j.m_limitState === AT_UPPER_LIMIT && accumulated.z + iz > 0;
    if (clampLower || clampUpper) {
      // The limit lets go: solve the point constraint alone (Mat33.solve22 of the reduced rhs).
      const rhsX = -1 * cdot1x + accumulated.z * ez.x;
      const rhsY = -1 * cdot1y + accumulated.z * ez.y;
      const det2 = j.det22;
      ix = det2 * (ey.y * rhsX - ey.x * rhsY);
      iy = det2 * (ex.x * rhsY - ex.y * rhsX);
      iz = -accumulated.z;
      accumulated.x += ix;
      accumulated.y += iy;
      accumulated.z = 0;
    } else {
      accumulated.x += ix;
      accumulated.y += iy;
      accumulated.z += iz;
    }
    px = ix;
    py = iy;
    vA.x -= mA * px;
    vA.y -= mA * py;
    wA -= iA * (rA.x * py - rA.y * px + iz);
    vB.x += mB * px;
    vB.y += mB * py;
    wB += iB * (rB.x * py - rB.y * px + iz);
  } else {
    // impulse = K⁻¹·(-Cdot) on the 2×2 block.
    const nx = -cdot1x;
    const ny = -cdot1y;
    const det2 = j.det22;
    px = det2 * (ey.y * nx - ey.x * ny);
    py = det2 * (ex.x * ny - ex.y * nx);
    j.m_impulse.x += px;
    j.m_impulse.y += py;
    vA.x -= mA * px;
    vA.y -= mA * py;
    wA -= iA * (rA.x * py - rA.y * px);
    vB.x += mB * px;
    vB.y += mB * py;
    wB += iB * (rB.x * py - rB.y * px);
  }
  j.m_bodyA.c_velocity.w = wA;
  j.m_bodyB.c_velocity.w = wB;
}
(planck.RevoluteJoint.prototype as unknown as { solveVelocityConstraints: typeof solveRevoluteVelocity }).solveVelocityConstraints = solveRevoluteVelocity;

/** What the position solver reads besides the velocity solver's fields. */
interface RevolutePositionInternals extends RevoluteInternals {
  m_bodyA: RevoluteInternals['m_bodyA'] & { c_position: { c: planck.Vec2; a: number } };
  m_bodyB: RevoluteInternals['m_bodyB'] & { c_position: { c: planck.Vec2; a: number } };
  m_localAnchorA: planck.Vec2;
  m_localAnchorB: planck.Vec2;
  m_localCenterA: planck.Vec2;
  m_localCenterB: planck.Vec2;
  m_referenceAngle: number;
  m_lowerAngle: number;
  m_upperAngle: number;
}

/**
 * planck 1.4.2's RevoluteJoint.solvePositionConstraints, same arithmetic in the same order on local
 * numbers: planck's allocates two rotations, six vectors and a matrix per call, up to 60 calls a step
 * per joint. Trajectories stay bit for bit planck's own (test/box2d.test.ts replays the golden
 * episodes; 2,923 steps of LunarLander, its continuous variant and both walkers hash identical before
 * and after). CPU for those steps, alternating three rounds each: 455 → 401 ms (-12%).
 */
function solveRevolutePosition(this: planck.RevoluteJoint): boolean {
  const j = this as unknown as RevolutePositionInternals;
  const cA = j.m_bodyA.c_position.c;
  let aA = j.m_bodyA.c_position.a;
  const cB = j.m_bodyB.c_position.c;
  let aB = j.m_bodyB.c_position.a;
  let angularError = 0;
  const fixedRotation = j.m_invIA + j.m_invIB == 0;
  if (j.m_enableLimit && j.m_limitState != INACTIVE_LIMIT && !fixedRotation) {
    const angle = aB - aA - j.m_referenceAngle;
    let limitImpulse = 0;
    if (j.m_limitState == EQUAL_LIMITS) {
      const c = clamp(angle - j.m_lowerAngle, -MAX_ANGULAR_CORRECTION, MAX_ANGULAR_CORRECTION);
      limitImpulse = -j.m_motorMass * c;
      angularError = Math.abs(c);
    } else if (j.m_limitState == AT_LOWER_LIMIT) {
      let c = angle - j.m_lowerAngle;
      angularError = -c;
      c = clamp(c + ANGULAR_SLOP, -MAX_ANGULAR_CORRECTION, 0);
      limitImpulse = -j.m_motorMass * c;
    } else if (j.m_limitState == AT_UPPER_LIMIT) {
      let c = angle - j.m_upperAngle;
      angularError = c;
      c = clamp(c - ANGULAR_SLOP, 0, MAX_ANGULAR_CORRECTION);
      limitImpulse = -j.m_motorMass * c;
    }
    aA -= j.m_invIA * limitImpulse;
    aB += j.m_invIB * limitImpulse;
  }
  const sA = Math.sin(aA);
  const cosA = Math.cos(aA);
  const sB = Math.sin(aB);
  const cosB = Math.cos(aB);
  const lAx = j.m_localAnchorA.x - j.m_localCenterA.x;
  const lAy = j.m_localAnchorA.y - j.m_localCenterA.y;
  const lBx = j.m_localAnchorB.x - j.m_localCenterB.x;
  const lBy = j.m_localAnchorB.y - j.m_localCenterB.y;
  const rAx = cosA * lAx - sA * lAy;
  const rAy = sA * lAx + cosA * lAy;
  const rBx = cosB * lBx - sB * lBy;
  const rBy = sB * lBx + cosB * lBy;
  // C = 0 + (cB + rB) - (cA + rA), as planck's addCombine then subCombine on a zero vector.
  const Cx = 0 + (1 * cB.x + 1 * rBx) - (1 * cA.x + 1 * rAx);
  const Cy = 0 + (1 * cB.y + 1 * rBy) - (1 * cA.y + 1 * rAy);
  const positionError = Math.sqrt(Cx * Cx + Cy * Cy);
  const mA = j.m_invMassA;
  const mB = j.m_invMassB;
  const iA = j.m_invIA;
  const iB = j.m_invIB;
  const a = mA + mB + iA * rAy * rAy + iB * rBy * rBy;
  const c = -iA * rAx * rAy - iB * rBx * rBy;
  const b = c;
  const d = mA + mB + iA * rAx * rAx + iB * rBx * rBx;
  let det = a * d - b * c;
  if (det !== 0) det = 1 / det;
  const ix = -(det * (d * Cx - b * Cy));
  const iy = -(det * (a * Cy - c * Cx));
  cA.x -= mA * ix;
  cA.y -= mA * iy;
  aA -= iA * (rAx * iy - rAy * ix);
  cB.x += mB * ix;
  cB.y += mB * iy;
  aB += iB * (rBx * iy - rBy * ix);
  j.m_bodyA.c_position.a = aA;
  j.m_bodyB.c_position.a = aB;
  return positionError <= LINEAR_SLOP && angularError <= ANGULAR_SLOP;
}
(planck.RevoluteJoint.prototype as unknown as { solvePositionConstraints: typeof solveRevolutePosition }).solvePositionConstraints = solveRevolutePosition;

// The contact solver, island step and ray cast on local numbers (engine-contact.ts and
// engine-raycast.ts say why).
installContactSolver();
installRayCast();

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
