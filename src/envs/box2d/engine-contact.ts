/**
 * planck 1.4.2's contact solver (Box2D 2.3's b2ContactSolver, which planck spreads over Contact's
 * methods) and its island step (b2Island::Solve, Solver.solveIsland, and the island search of
 * Solver.solveWorld) with the same arithmetic in the same order, on local numbers. Installed by
 * engine.ts, as its revolute-joint solvers are.
 *
 * Why: Gymnasium steps with 180 velocity and up to 60 position iterations, so these run hundreds of
 * times a step per contact, and planck's pass every intermediate through module-level vectors and
 * small helpers (dotVec2, crossVec2Vec2, clamp...) whose double results V8 boxes: its
 * solveVelocityConstraint alone allocated 2.9 KB of a LunarLander step's 7.9 KB (sampled heap
 * profile), and the garbage collector took 12-15% of the step (CPU profile; docs/box2d.md, "Speed").
 *
 * "Same arithmetic" is bit for bit: every expression keeps planck's operands and association
 * (`0 + v.x` where planck adds into a zeroed vector keeps the sign of a zero), and
 * `npm run build && node dist/scripts/box2d-hash.js` hashes identical trajectories before and after.
 * Not here, on purpose: time of impact, distance and the manifolds (collision), which change for
 * Box2D's float32 arithmetic separately; the velocity initialisation still asks the manifold for
 * its world points through `Manifold.getWorldManifold`, so a replacement of that is used here too.
 *
 * Longer than 400 lines: one solver, kept whole (its parts share the per-contact state planck keeps
 * and are checked together against planck's own by scripts/box2d-hash.ts).
 */
import * as planck from 'planck';

interface XY {
  x: number;
  y: number;
}
interface Mat22 {
  ex: XY;
  ey: XY;
}
interface BodyInternals {
  m_type: string;
  m_invMass: number;
  m_invI: number;
  m_sweep: { c: XY; a: number; c0: XY; a0: number; localCenter: XY };
  m_linearVelocity: XY;
  m_angularVelocity: number;
  m_force: XY;
  m_torque: number;
  m_gravityScale: number;
  m_linearDamping: number;
  m_angularDamping: number;
  m_autoSleepFlag: boolean;
  m_sleepTime: number;
  m_awakeFlag: boolean;
  m_activeFlag: boolean;
  m_islandFlag: boolean;
  m_next: BodyInternals | null;
  m_contactList: ContactEdgeInternals | null;
  m_jointList: JointEdgeInternals | null;
  c_position: { c: XY; a: number };
  c_velocity: { v: XY; w: number };
  isStatic(): boolean;
  isDynamic(): boolean;
  isAwake(): boolean;
  isActive(): boolean;
  setAwake(flag: boolean): void;
  synchronizeTransform(): void;
}
interface ContactEdgeInternals {
  contact: ContactInternals;
  other: BodyInternals;
  next: ContactEdgeInternals | null;
}
interface JointEdgeInternals {
  joint: JointInternals;
  other: BodyInternals;
  next: JointEdgeInternals | null;
}
interface JointInternals {
  m_islandFlag: boolean;
  m_next: JointInternals | null;
  initVelocityConstraints(step: StepInternals): void;
  solveVelocityConstraints(step: StepInternals): void;
  solvePositionConstraints(step: StepInternals): boolean;
}
interface FixtureInternals {
  m_body: BodyInternals | null;
  m_shape: { m_radius: number } | null;
  m_isSensor: boolean;
}
interface ManifoldInternals {
  pointCount: number;
  getWorldManifold(wm: WorldManifoldInternals, xfA: TransformValue, radiusA: number, xfB: TransformValue, radiusB: number): void;
}
interface WorldManifoldInternals {
  normal: XY;
  points: XY[];
  recycle(): void;
}
interface PointInternals {
  rA: XY;
  rB: XY;
  normalImpulse: number;
  tangentImpulse: number;
  normalMass: number;
  tangentMass: number;
  velocityBias: number;
}
interface ContactInternals {
  m_fixtureA: FixtureInternals | null;
  m_fixtureB: FixtureInternals | null;
  m_manifold: ManifoldInternals;
  m_islandFlag: boolean;
  m_impulse: unknown;
  m_next: ContactInternals | null;
  isEnabled(): boolean;
  isTouching(): boolean;
  v_points: PointInternals[];
  v_normal: XY;
  v_normalMass: Mat22;
  v_K: Mat22;
  v_pointCount: number;
  v_tangentSpeed: number;
  v_friction: number;
  v_restitution: number;
  v_invMassA: number;
  v_invMassB: number;
  v_invIA: number;
  v_invIB: number;
  p_localPoints: XY[];
  p_localNormal: XY;
  p_localPoint: XY;
  p_localCenterA: XY;
  p_localCenterB: XY;
  p_type: number;
  p_radiusA: number;
  p_radiusB: number;
  p_pointCount: number;
  p_invMassA: number;
  p_invMassB: number;
  p_invIA: number;
  p_invIB: number;
}
interface StepInternals {
  dt: number;
  velocityIterations: number;
  positionIterations: number;
  warmStarting: boolean;
  blockSolve: boolean;
}
interface TransformValue {
  p: XY;
  q: { s: number; c: number };
}
/** planck's Solver with the island arrays of this file (planck's own are left to its time-of-impact pass). */
interface SolverInternals {
  m_world: {
    m_gravity: XY;
    m_allowSleep: boolean;
    m_bodyList: BodyInternals | null;
    m_contactList: ContactInternals | null;
    m_jointList: JointInternals | null;
    postSolve(contact: ContactInternals, impulse: unknown): void;
  };
  islandBodies?: BodyInternals[];
  islandContacts?: ContactInternals[];
  islandJoints?: JointInternals[];
  islandStack?: BodyInternals[];
  islandBodyCount: number;
  islandContactCount: number;
  islandJointCount: number;
}

// planck's SettingsInternal getters, evaluated once with the same expressions (nothing changes
// planck.Settings at run time).
const S = planck.Settings;
const LINEAR_SLOP = S.linearSlop * S.lengthUnitsPerMeter;
const VELOCITY_THRESHOLD = S.velocityThreshold * S.lengthUnitsPerMeter;
const MAX_LINEAR_CORRECTION = S.maxLinearCorrection * S.lengthUnitsPerMeter;
const BAUMGARTE = S.baumgarte;
const TOI_BAUMGARTE = S.toiBaugarte;
const MAX_TRANSLATION = S.maxTranslation * S.lengthUnitsPerMeter;
const MAX_TRANSLATION_SQUARED = S.maxTranslation * S.lengthUnitsPerMeter * S.maxTranslation * S.lengthUnitsPerMeter;
const MAX_ROTATION = S.maxRotation;
const MAX_ROTATION_SQUARED = S.maxRotation * S.maxRotation;
const LINEAR_SLEEP_TOLERANCE_SQR = S.linearSleepTolerance * S.lengthUnitsPerMeter * S.linearSleepTolerance * S.lengthUnitsPerMeter;
const ANGULAR_SLEEP_TOLERANCE_SQR = S.angularSleepTolerance * S.angularSleepTolerance;
const TIME_TO_SLEEP = S.timeToSleep;
const E_CIRCLES = 0;
const E_FACE_A = 1;
const E_FACE_B = 2;
const K_MAX_CONDITION_NUMBER = 1e3;

/** The two transforms initVelocityConstraint hands to getWorldManifold (planck's module-level xfA/xfB). */
const xfA: TransformValue = { p: { x: 0, y: 0 }, q: { s: 0, c: 1 } };
const xfB: TransformValue = { p: { x: 0, y: 0 }, q: { s: 0, c: 1 } };
const worldManifold = new (planck as unknown as { WorldManifold: new () => WorldManifoldInternals }).WorldManifold();

/** planck's getTransform(xf, localCenter, c, a). */
function setTransform(xf: TransformValue, localCenter: XY, cx: number, cy: number, a: number): void {
  const q = xf.q;
  q.c = Math.cos(a);
  q.s = Math.sin(a);
  xf.p.x = cx - (q.c * localCenter.x - q.s * localCenter.y);
  xf.p.y = cy - (q.s * localCenter.x + q.c * localCenter.y);
}

/** Contact.initVelocityConstraint (b2ContactSolver::InitializeVelocityConstraints for one contact). */
function initVelocityConstraint(this: ContactInternals, step: StepInternals): void {
  const fixtureA = this.m_fixtureA;
  const fixtureB = this.m_fixtureB;
  if (fixtureA === null || fixtureB === null) return;
  const bodyA = fixtureA.m_body;
  const bodyB = fixtureB.m_body;
  if (bodyA === null || bodyB === null) return;
  const velocityA = bodyA.c_velocity;
  const velocityB = bodyB.c_velocity;
  const positionA = bodyA.c_position;
  const positionB = bodyB.c_position;
  const mA = this.v_invMassA;
  const mB = this.v_invMassB;
  const iA = this.v_invIA;
  const iB = this.v_invIB;
  const cAx = positionA.c.x;
  const cAy = positionA.c.y;
  const cBx = positionB.c.x;
  const cBy = positionB.c.y;
  const vAx = velocityA.v.x;
  const vAy = velocityA.v.y;
  const wA = velocityA.w;
  const vBx = velocityB.v.x;
  const vBy = velocityB.v.y;
  const wB = velocityB.w;
  setTransform(xfA, this.p_localCenterA, cAx, cAy, positionA.a);
  setTransform(xfB, this.p_localCenterB, cBx, cBy, positionB.a);
  worldManifold.recycle();
  this.m_manifold.getWorldManifold(worldManifold, xfA, this.p_radiusA, xfB, this.p_radiusB);
  const normal = this.v_normal;
  const nx = worldManifold.normal.x;
  const ny = worldManifold.normal.y;
  normal.x = nx;
  normal.y = ny;
  // crossVec2Num(tangent, normal, 1)
  const tx = 1 * ny;
  const ty = -1 * nx;
  for (let j = 0; j < this.v_pointCount; ++j) {
    const vcp = this.v_points[j];
    const wmp = worldManifold.points[j];
    const rAx = wmp.x - cAx;
    const rAy = wmp.y - cAy;
    const rBx = wmp.x - cBx;
    const rBy = wmp.y - cBy;
    vcp.rA.x = rAx;
    vcp.rA.y = rAy;
    vcp.rB.x = rBx;
    vcp.rB.y = rBy;
    const rnA = rAx * ny - rAy * nx;
    const rnB = rBx * ny - rBy * nx;
    const kNormal = mA + mB + iA * rnA * rnA + iB * rnB * rnB;
    vcp.normalMass = kNormal > 0 ? 1 / kNormal : 0;
    const rtA = rAx * ty - rAy * tx;
    const rtB = rBx * ty - rBy * tx;
    const kTangent = mA + mB + iA * rtA * rtA + iB * rtB * rtB;
    vcp.tangentMass = kTangent > 0 ? 1 / kTangent : 0;
    vcp.velocityBias = 0;
    let vRel = 0;
    vRel += nx * vBx + ny * vBy;
    vRel += nx * (-wB * rBy) + ny * (wB * rBx);
    vRel -= nx * vAx + ny * vAy;
    vRel -= nx * (-wA * rAy) + ny * (wA * rAx);
    if (vRel < -VELOCITY_THRESHOLD) vcp.velocityBias = -this.v_restitution * vRel;
  }
  if (this.v_pointCount == 2 && step.blockSolve) {
    const vcp1 = this.v_points[0];
    const vcp2 = this.v_points[1];
    const rn1A = vcp1.rA.x * ny - vcp1.rA.y * nx;
    const rn1B = vcp1.rB.x * ny - vcp1.rB.y * nx;
    const rn2A = vcp2.rA.x * ny - vcp2.rA.y * nx;
    const rn2B = vcp2.rB.x * ny - vcp2.rB.y * nx;
    const k11 = mA + mB + iA * rn1A * rn1A + iB * rn1B * rn1B;
    const k22 = mA + mB + iA * rn2A * rn2A + iB * rn2B * rn2B;
    const k12 = mA + mB + iA * rn1A * rn2A + iB * rn1B * rn2B;
    if (k11 * k11 < K_MAX_CONDITION_NUMBER * (k11 * k22 - k12 * k12)) {
      const K = this.v_K;
      K.ex.x = k11;
      K.ex.y = k12;
      K.ey.x = k12;
      K.ey.y = k22;
      let det = k11 * k22 - k12 * k12;
      if (det !== 0) det = 1 / det;
      const normalMass = this.v_normalMass;
      normalMass.ex.x = det * k22;
      normalMass.ey.x = -det * k12;
      normalMass.ex.y = -det * k12;
      normalMass.ey.y = det * k11;
    } else {
      this.v_pointCount = 1;
    }
  }
}

/** Contact.warmStartConstraint. */
function warmStartConstraint(this: ContactInternals): void {
  const fixtureA = this.m_fixtureA;
  const fixtureB = this.m_fixtureB;
  if (fixtureA === null || fixtureB === null) return;
  const bodyA = fixtureA.m_body;
  const bodyB = fixtureB.m_body;
  if (bodyA === null || bodyB === null) return;
  const velocityA = bodyA.c_velocity;
  const velocityB = bodyB.c_velocity;
  const mA = this.v_invMassA;
  const iA = this.v_invIA;
  const mB = this.v_invMassB;
  const iB = this.v_invIB;
  let vAx = velocityA.v.x;
  let vAy = velocityA.v.y;
  let wA = velocityA.w;
  let vBx = velocityB.v.x;
  let vBy = velocityB.v.y;
  let wB = velocityB.w;
  const nx = this.v_normal.x;
  const ny = this.v_normal.y;
  const tx = 1 * ny;
  const ty = -1 * nx;
  for (let j = 0; j < this.v_pointCount; ++j) {
    const vcp = this.v_points[j];
    const Px = vcp.normalImpulse * nx + vcp.tangentImpulse * tx;
    const Py = vcp.normalImpulse * ny + vcp.tangentImpulse * ty;
    wA -= iA * (vcp.rA.x * Py - vcp.rA.y * Px);
    vAx -= mA * Px;
    vAy -= mA * Py;
    wB += iB * (vcp.rB.x * Py - vcp.rB.y * Px);
    vBx += mB * Px;
    vBy += mB * Py;
  }
  velocityA.v.x = vAx;
  velocityA.v.y = vAy;
  velocityA.w = wA;
  velocityB.v.x = vBx;
  velocityB.v.y = vBy;
  velocityB.w = wB;
}

/**
 * Contact.solveVelocityConstraint (b2ContactSolver::SolveVelocityConstraints for one contact):
 * friction at each point, then the normal impulses, for two points as Box2D's block solver.
 */
function solveVelocityConstraint(this: ContactInternals, step: StepInternals): void {
  const fixtureA = this.m_fixtureA;
  const fixtureB = this.m_fixtureB;
  if (fixtureA === null || fixtureB === null) return;
  const bodyA = fixtureA.m_body;
  const bodyB = fixtureB.m_body;
  if (bodyA === null || bodyB === null) return;
  const velocityA = bodyA.c_velocity;
  const velocityB = bodyB.c_velocity;
  const mA = this.v_invMassA;
  const iA = this.v_invIA;
  const mB = this.v_invMassB;
  const iB = this.v_invIB;
  let vAx = velocityA.v.x;
  let vAy = velocityA.v.y;
  let wA = velocityA.w;
  let vBx = velocityB.v.x;
  let vBy = velocityB.v.y;
  let wB = velocityB.w;
  const nx = this.v_normal.x;
  const ny = this.v_normal.y;
  const tx = 1 * ny;
  const ty = -1 * nx;
  const friction = this.v_friction;
  const pointCount = this.v_pointCount;
  const points = this.v_points;
  for (let j = 0; j < pointCount; ++j) {
    const vcp = points[j];
    const rAx = vcp.rA.x;
    const rAy = vcp.rA.y;
    const rBx = vcp.rB.x;
    const rBy = vcp.rB.y;
    // dv = 0 + vB + wB × rB - vA - wA × rA, accumulated as planck's zeroVec2/plusVec2/minusVec2.
    const dvx = 0 + vBx + -wB * rBy - vAx - -wA * rAy;
    const dvy = 0 + vBy + wB * rBx - vAy - wA * rAx;
    const vt = dvx * tx + dvy * ty - this.v_tangentSpeed;
    let lambda = vcp.tangentMass * -vt;
    const maxFriction = friction * vcp.normalImpulse;
    const sum = vcp.tangentImpulse + lambda;
    const newImpulse = sum < -maxFriction ? -maxFriction : sum > maxFriction ? maxFriction : sum;
    lambda = newImpulse - vcp.tangentImpulse;
    vcp.tangentImpulse = newImpulse;
    const Px = lambda * tx;
    const Py = lambda * ty;
    vAx -= mA * Px;
    vAy -= mA * Py;
    wA -= iA * (rAx * Py - rAy * Px);
    vBx += mB * Px;
    vBy += mB * Py;
    wB += iB * (rBx * Py - rBy * Px);
  }
  if (pointCount == 1 || step.blockSolve == false) {
    for (let i = 0; i < pointCount; ++i) {
      const vcp = points[i];
      const rAx = vcp.rA.x;
      const rAy = vcp.rA.y;
      const rBx = vcp.rB.x;
      const rBy = vcp.rB.y;
      const dvx = 0 + vBx + -wB * rBy - vAx - -wA * rAy;
      const dvy = 0 + vBy + wB * rBx - vAy - wA * rAx;
      const vn = dvx * nx + dvy * ny;
      let lambda = -vcp.normalMass * (vn - vcp.velocityBias);
      const newImpulse = Math.max(vcp.normalImpulse + lambda, 0);
      lambda = newImpulse - vcp.normalImpulse;
      vcp.normalImpulse = newImpulse;
      const Px = lambda * nx;
      const Py = lambda * ny;
      vAx -= mA * Px;
      vAy -= mA * Py;
      wA -= iA * (rAx * Py - rAy * Px);
      vBx += mB * Px;
      vBy += mB * Py;
      wB += iB * (rBx * Py - rBy * Px);
    }
  } else {
    // Box2D's block solver: the 2×2 linear complementarity problem, trying its four cases in turn.
    const vcp1 = points[0];
    const vcp2 = points[1];
    const r1Ax = vcp1.rA.x;
    const r1Ay = vcp1.rA.y;
    const r1Bx = vcp1.rB.x;
    const r1By = vcp1.rB.y;
    const r2Ax = vcp2.rA.x;
    const r2Ay = vcp2.rA.y;
    const r2Bx = vcp2.rB.x;
    const r2By = vcp2.rB.y;
    const ax = vcp1.normalImpulse;
    const ay = vcp2.normalImpulse;
    const dv1x = 0 + vBx + -wB * r1By - vAx - -wA * r1Ay;
    const dv1y = 0 + vBy + wB * r1Bx - vAy - wA * r1Ax;
    const dv2x = 0 + vBx + -wB * r2By - vAx - -wA * r2Ay;
    const dv2y = 0 + vBy + wB * r2Bx - vAy - wA * r2Ax;
    let vn1 = dv1x * nx + dv1y * ny;
    let vn2 = dv2x * nx + dv2y * ny;
    const K = this.v_K;
    const M = this.v_normalMass;
    let bx = vn1 - vcp1.velocityBias;
    let by = vn2 - vcp2.velocityBias;
    bx -= K.ex.x * ax + K.ey.x * ay;
    by -= K.ex.y * ax + K.ey.y * ay;
    let xx = -(M.ex.x * bx + M.ey.x * by);
    let xy = -(M.ex.y * bx + M.ey.y * by);
    let solved = xx >= 0 && xy >= 0;
    if (!solved) {
      xx = -vcp1.normalMass * bx;
      xy = 0;
      vn1 = 0;
      vn2 = K.ex.y * xx + by;
      solved = xx >= 0 && vn2 >= 0;
    }
    if (!solved) {
      xx = 0;
      xy = -vcp2.normalMass * by;
      vn1 = K.ey.x * xy + bx;
      vn2 = 0;
      solved = xy >= 0 && vn1 >= 0;
    }
    if (!solved) {
      xx = 0;
      xy = 0;
      vn1 = bx;
      vn2 = by;
      solved = vn1 >= 0 && vn2 >= 0;
    }
    if (solved) {
      const dx = xx - ax;
      const dy = xy - ay;
      const P1x = dx * nx;
      const P1y = dx * ny;
      const P2x = dy * nx;
      const P2y = dy * ny;
      vAx = -mA * P1x + -mA * P2x + 1 * vAx;
      vAy = -mA * P1y + -mA * P2y + 1 * vAy;
      wA -= iA * (r1Ax * P1y - r1Ay * P1x + (r2Ax * P2y - r2Ay * P2x));
      vBx = mB * P1x + mB * P2x + 1 * vBx;
      vBy = mB * P1y + mB * P2y + 1 * vBy;
      wB += iB * (r1Bx * P1y - r1By * P1x + (r2Bx * P2y - r2By * P2x));
      vcp1.normalImpulse = xx;
      vcp2.normalImpulse = xy;
    }
  }
  velocityA.v.x = vAx;
  velocityA.v.y = vAy;
  velocityA.w = wA;
  velocityB.v.x = vBx;
  velocityB.v.y = vBy;
  velocityB.w = wB;
}

/**
 * Contact._solvePositionConstraint (b2ContactSolver::SolvePositionConstraints and its TOI variant,
 * for one contact): toiA/toiB null for the regular step; in a time-of-impact sub-step only the two
 * bodies of the impact move.
 */
function solvePositionConstraint(this: ContactInternals, toiA: BodyInternals | null, toiB: BodyInternals | null): number {
  const toi = toiA !== null && toiB !== null;
  let minSeparation = 0;
  const fixtureA = this.m_fixtureA;
  const fixtureB = this.m_fixtureB;
  if (fixtureA === null || fixtureB === null) return minSeparation;
  const bodyA = fixtureA.m_body;
  const bodyB = fixtureB.m_body;
  if (bodyA === null || bodyB === null) return minSeparation;
  const positionA = bodyA.c_position;
  const positionB = bodyB.c_position;
  const lcA = this.p_localCenterA;
  const lcB = this.p_localCenterB;
  let mA = 0;
  let iA = 0;
  if (!toi || bodyA === toiA || bodyA === toiB) {
    mA = this.p_invMassA;
    iA = this.p_invIA;
  }
  let mB = 0;
  let iB = 0;
  if (!toi || bodyB === toiA || bodyB === toiB) {
    mB = this.p_invMassB;
    iB = this.p_invIB;
  }
  let cAx = positionA.c.x;
  let cAy = positionA.c.y;
  let aA = positionA.a;
  let cBx = positionB.c.x;
  let cBy = positionB.c.y;
  let aB = positionB.a;
  const type = this.p_type;
  const localNormal = this.p_localNormal;
  const localPoint = this.p_localPoint;
  const radii = this.p_radiusA;
  const radiusB = this.p_radiusB;
  const baumgarte = toi ? TOI_BAUMGARTE : BAUMGARTE;
  for (let j = 0; j < this.p_pointCount; ++j) {
    // getTransform(xfA, localCenterA, cA, aA), and B's.
    const qAc = Math.cos(aA);
    const qAs = Math.sin(aA);
    const pAx = cAx - (qAc * lcA.x - qAs * lcA.y);
    const pAy = cAy - (qAs * lcA.x + qAc * lcA.y);
    const qBc = Math.cos(aB);
    const qBs = Math.sin(aB);
    const pBx = cBx - (qBc * lcB.x - qBs * lcB.y);
    const pBy = cBy - (qBs * lcB.x + qBc * lcB.y);
    let nx: number;
    let ny: number;
    let pointX: number;
    let pointY: number;
    let separation: number;
    if (type === E_CIRCLES) {
      const lp0 = this.p_localPoints[0];
      const pointAx = qAc * localPoint.x - qAs * localPoint.y + pAx;
      const pointAy = qAs * localPoint.x + qAc * localPoint.y + pAy;
      const pointBx = qBc * lp0.x - qBs * lp0.y + pBx;
      const pointBy = qBs * lp0.x + qBc * lp0.y + pBy;
      nx = pointBx - pointAx;
      ny = pointBy - pointAy;
      const length = Math.sqrt(nx * nx + ny * ny);
      if (length > 0) {
        const invLength = 1 / length;
        nx *= invLength;
        ny *= invLength;
      }
      pointX = 0.5 * pointAx + 0.5 * pointBx;
      pointY = 0.5 * pointAy + 0.5 * pointBy;
      separation = pointBx * nx + pointBy * ny - (pointAx * nx + pointAy * ny) - radii - radiusB;
    } else if (type === E_FACE_A) {
      nx = qAc * localNormal.x - qAs * localNormal.y;
      ny = qAs * localNormal.x + qAc * localNormal.y;
      const planeX = qAc * localPoint.x - qAs * localPoint.y + pAx;
      const planeY = qAs * localPoint.x + qAc * localPoint.y + pAy;
      const lp = this.p_localPoints[j];
      const clipX = qBc * lp.x - qBs * lp.y + pBx;
      const clipY = qBs * lp.x + qBc * lp.y + pBy;
      separation = clipX * nx + clipY * ny - (planeX * nx + planeY * ny) - radii - radiusB;
      pointX = clipX;
      pointY = clipY;
    } else if (type === E_FACE_B) {
      nx = qBc * localNormal.x - qBs * localNormal.y;
      ny = qBs * localNormal.x + qBc * localNormal.y;
      const planeX = qBc * localPoint.x - qBs * localPoint.y + pBx;
      const planeY = qBs * localPoint.x + qBc * localPoint.y + pBy;
      const lp = this.p_localPoints[j];
      const clipX = qAc * lp.x - qAs * lp.y + pAx;
      const clipY = qAs * lp.x + qAc * lp.y + pAy;
      separation = clipX * nx + clipY * ny - (planeX * nx + planeY * ny) - radii - radiusB;
      pointX = clipX;
      pointY = clipY;
      nx = -nx;
      ny = -ny;
    } else {
      return minSeparation;
    }
    const rAx = pointX - cAx;
    const rAy = pointY - cAy;
    const rBx = pointX - cBx;
    const rBy = pointY - cBy;
    minSeparation = Math.min(minSeparation, separation);
    const unclamped = baumgarte * (separation + LINEAR_SLOP);
    const C = unclamped < -MAX_LINEAR_CORRECTION ? -MAX_LINEAR_CORRECTION : unclamped > 0 ? 0 : unclamped;
    const rnA = rAx * ny - rAy * nx;
    const rnB = rBx * ny - rBy * nx;
    const K = mA + mB + iA * rnA * rnA + iB * rnB * rnB;
    const impulse = K > 0 ? -C / K : 0;
    const Px = impulse * nx;
    const Py = impulse * ny;
    cAx -= mA * Px;
    cAy -= mA * Py;
    aA -= iA * (rAx * Py - rAy * Px);
    cBx += mB * Px;
    cBy += mB * Py;
    aB += iB * (rBx * Py - rBy * Px);
  }
  positionA.c.x = cAx;
  positionA.c.y = cAy;
  positionA.a = aA;
  positionB.c.x = cBx;
  positionB.c.y = cBy;
  positionB.a = aB;
  return minSeparation;
}

function solveRegularPosition(this: ContactInternals): number {
  return solvePositionConstraint.call(this, null, null);
}

function solveTOIPosition(this: ContactInternals, _step: StepInternals, toiA: BodyInternals, toiB: BodyInternals): number {
  return solvePositionConstraint.call(this, toiA, toiB);
}

/**
 * Solver.solveWorld: planck's island search (depth first from each awake body over touching
 * contacts and joints, in planck's order) into arrays that keep their storage between steps
 * (planck empties its own with `length = 0`, which frees them, so every island regrew them).
 */
function solveWorld(this: SolverInternals, step: StepInternals): void {
  const world = this.m_world;
  for (let b = world.m_bodyList; b; b = b.m_next) b.m_islandFlag = false;
  for (let c = world.m_contactList; c; c = c.m_next) c.m_islandFlag = false;
  for (let j = world.m_jointList; j; j = j.m_next) j.m_islandFlag = false;
  const stack = (this.islandStack ??= []);
  const bodies = (this.islandBodies ??= []);
  const contacts = (this.islandContacts ??= []);
  const joints = (this.islandJoints ??= []);
  for (let seed = world.m_bodyList; seed; seed = seed.m_next) {
    if (seed.m_islandFlag) continue;
    if (seed.isAwake() == false || seed.isActive() == false) continue;
    if (seed.isStatic()) continue;
    let bodyCount = 0;
    let contactCount = 0;
    let jointCount = 0;
    let stackCount = 0;
    stack[stackCount++] = seed;
    seed.m_islandFlag = true;
    while (stackCount > 0) {
      const b = stack[--stackCount];
      bodies[bodyCount++] = b;
      b.m_awakeFlag = true;
      if (b.isStatic()) continue;
      for (let ce = b.m_contactList; ce; ce = ce.next) {
        const contact = ce.contact;
        if (contact.m_islandFlag) continue;
        if (contact.isEnabled() == false || contact.isTouching() == false) continue;
        if (contact.m_fixtureA!.m_isSensor || contact.m_fixtureB!.m_isSensor) continue;
        contacts[contactCount++] = contact;
        contact.m_islandFlag = true;
        const other = ce.other;
        if (other.m_islandFlag) continue;
        stack[stackCount++] = other;
        other.m_islandFlag = true;
      }
      for (let je = b.m_jointList; je; je = je.next) {
        if (je.joint.m_islandFlag == true) continue;
        const other = je.other;
        if (other.isActive() == false) continue;
        joints[jointCount++] = je.joint;
        je.joint.m_islandFlag = true;
        if (other.m_islandFlag) continue;
        stack[stackCount++] = other;
        other.m_islandFlag = true;
      }
    }
    this.islandBodyCount = bodyCount;
    this.islandContactCount = contactCount;
    this.islandJointCount = jointCount;
    solveIsland.call(this, step);
    for (let i = 0; i < bodyCount; ++i) {
      const b = bodies[i];
      if (b.isStatic()) b.m_islandFlag = false;
    }
  }
}

/** Solver.solveIsland (b2Island::Solve): integrate, solve velocities, integrate positions, solve positions, sleep. */
function solveIsland(this: SolverInternals, step: StepInternals): void {
  const world = this.m_world;
  const gravity = world.m_gravity;
  const allowSleep = world.m_allowSleep;
  const h = step.dt;
  const bodies = this.islandBodies!;
  const contacts = this.islandContacts!;
  const joints = this.islandJoints!;
  const bodyCount = this.islandBodyCount;
  const contactCount = this.islandContactCount;
  const jointCount = this.islandJointCount;
  for (let i = 0; i < bodyCount; ++i) {
    const body = bodies[i];
    const sweep = body.m_sweep;
    const cx = sweep.c.x;
    const cy = sweep.c.y;
    const a = sweep.a;
    let vx = body.m_linearVelocity.x;
    let vy = body.m_linearVelocity.y;
    let w = body.m_angularVelocity;
    sweep.c0.x = sweep.c.x;
    sweep.c0.y = sweep.c.y;
    sweep.a0 = sweep.a;
    if (body.isDynamic()) {
      const g = h * body.m_gravityScale;
      vx += g * gravity.x;
      vy += g * gravity.y;
      const f = h * body.m_invMass;
      vx += f * body.m_force.x;
      vy += f * body.m_force.y;
      w += h * body.m_invI * body.m_torque;
      const damping = 1 / (1 + h * body.m_linearDamping);
      vx = damping * vx;
      vy = damping * vy;
      w *= 1 / (1 + h * body.m_angularDamping);
    }
    const position = body.c_position;
    position.c.x = cx;
    position.c.y = cy;
    position.a = a;
    const velocity = body.c_velocity;
    velocity.v.x = vx;
    velocity.v.y = vy;
    velocity.w = w;
  }
  for (let i = 0; i < contactCount; ++i) (contacts[i] as unknown as { initConstraint(step: StepInternals): void }).initConstraint(step);
  for (let i = 0; i < contactCount; ++i) initVelocityConstraint.call(contacts[i], step);
  if (step.warmStarting) {
    for (let i = 0; i < contactCount; ++i) warmStartConstraint.call(contacts[i]);
  }
  for (let i = 0; i < jointCount; ++i) joints[i].initVelocityConstraints(step);
  for (let i = 0; i < step.velocityIterations; ++i) {
    for (let j = 0; j < jointCount; ++j) joints[j].solveVelocityConstraints(step);
    for (let j = 0; j < contactCount; ++j) solveVelocityConstraint.call(contacts[j], step);
  }
  for (let i = 0; i < contactCount; ++i) storeConstraintImpulses.call(contacts[i]);
  for (let i = 0; i < bodyCount; ++i) {
    const body = bodies[i];
    const position = body.c_position;
    const velocity = body.c_velocity;
    let cx = position.c.x;
    let cy = position.c.y;
    let a = position.a;
    let vx = velocity.v.x;
    let vy = velocity.v.y;
    let w = velocity.w;
    const tx = h * vx;
    const ty = h * vy;
    const translationLengthSqr = tx * tx + ty * ty;
    if (translationLengthSqr > MAX_TRANSLATION_SQUARED) {
      const ratio = MAX_TRANSLATION / Math.sqrt(translationLengthSqr);
      vx *= ratio;
      vy *= ratio;
    }
    const rotation = h * w;
    if (rotation * rotation > MAX_ROTATION_SQUARED) {
      const ratio = MAX_ROTATION / Math.abs(rotation);
      w *= ratio;
    }
    cx += h * vx;
    cy += h * vy;
    a += h * w;
    position.c.x = cx;
    position.c.y = cy;
    position.a = a;
    velocity.v.x = vx;
    velocity.v.y = vy;
    velocity.w = w;
  }
  let positionSolved = false;
  for (let i = 0; i < step.positionIterations; ++i) {
    let minSeparation = 0;
    for (let j = 0; j < contactCount; ++j) {
      const separation = solvePositionConstraint.call(contacts[j], null, null);
      minSeparation = Math.min(minSeparation, separation);
    }
    const contactsOkay = minSeparation >= -3 * LINEAR_SLOP;
    let jointsOkay = true;
    for (let j = 0; j < jointCount; ++j) {
      const jointOkay = joints[j].solvePositionConstraints(step);
      jointsOkay = jointsOkay && jointOkay;
    }
    if (contactsOkay && jointsOkay) {
      positionSolved = true;
      break;
    }
  }
  for (let i = 0; i < bodyCount; ++i) {
    const body = bodies[i];
    const sweep = body.m_sweep;
    const position = body.c_position;
    const velocity = body.c_velocity;
    sweep.c.x = position.c.x;
    sweep.c.y = position.c.y;
    sweep.a = position.a;
    body.m_linearVelocity.x = velocity.v.x;
    body.m_linearVelocity.y = velocity.v.y;
    body.m_angularVelocity = velocity.w;
    body.synchronizeTransform();
  }
  for (let i = 0; i < contactCount; ++i) world.postSolve(contacts[i], contacts[i].m_impulse);
  if (allowSleep) {
    let minSleepTime = Infinity;
    for (let i = 0; i < bodyCount; ++i) {
      const body = bodies[i];
      if (body.isStatic()) continue;
      const v = body.m_linearVelocity;
      if (
        body.m_autoSleepFlag == false ||
        body.m_angularVelocity * body.m_angularVelocity > ANGULAR_SLEEP_TOLERANCE_SQR ||
        v.x * v.x + v.y * v.y > LINEAR_SLEEP_TOLERANCE_SQR
      ) {
        body.m_sleepTime = 0;
        minSleepTime = 0;
      } else {
        body.m_sleepTime += h;
        minSleepTime = Math.min(minSleepTime, body.m_sleepTime);
      }
    }
    if (minSleepTime >= TIME_TO_SLEEP && positionSolved) {
      for (let i = 0; i < bodyCount; ++i) bodies[i].setAwake(false);
    }
  }
}

/** Contact.storeConstraintImpulses: the solved impulses back into the manifold, to warm-start the next step. */
function storeConstraintImpulses(this: ContactInternals): void {
  const points = (this.m_manifold as unknown as { points: { normalImpulse: number; tangentImpulse: number }[] }).points;
  for (let j = 0; j < this.v_pointCount; ++j) {
    points[j].normalImpulse = this.v_points[j].normalImpulse;
    points[j].tangentImpulse = this.v_points[j].tangentImpulse;
  }
}

/** Puts the functions above in place of planck's (engine.ts calls it once, on load). */
export function installContactSolver(): void {
  const contact = planck.Contact.prototype as unknown as Record<string, unknown>;
  contact.initVelocityConstraint = initVelocityConstraint;
  contact.warmStartConstraint = warmStartConstraint;
  contact.solveVelocityConstraint = solveVelocityConstraint;
  contact.storeConstraintImpulses = storeConstraintImpulses;
  contact.solvePositionConstraint = solveRegularPosition;
  contact.solvePositionConstraintTOI = solveTOIPosition;
  const solver = (planck as unknown as { Solver: { prototype: Record<string, unknown> } }).Solver.prototype;
  solver.solveWorld = solveWorld;
  solver.solveIsland = solveIsland;
}
