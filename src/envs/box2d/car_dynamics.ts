/**
 * CarRacing's car: Gymnasium 1.3's car_dynamics.py on planck (engine.ts). A hull of four polygons
 * and four wheels on revolute joints (the front two steer); each wheel keeps its own spin (`omega`)
 * outside the physics engine and pushes the body with a friction force capped by what it stands on
 * (road tiles: full grip, grass: 60%). Rear-wheel drive.
 *
 * Box2D stores positions, vertices and forces in float32; the values handed to the engine are
 * rounded the same way (Math.fround), the Python-side arithmetic stays in doubles as Python's is.
 */
import { addFixture, planck, polygon } from './engine.js';

const f32 = Math.fround;

export const SIZE = 0.02;
const ENGINE_POWER = 100000000 * SIZE * SIZE;
const WHEEL_MOMENT_OF_INERTIA = 4000 * SIZE * SIZE;
/** Friction ~ mass ~ size² (the density sets the mass). */
const FRICTION_LIMIT = 1000000 * SIZE * SIZE;
export const WHEEL_R = 27;
export const WHEEL_W = 14;
const WHEELPOS: readonly [number, number][] = [[-55, +80], [+55, +80], [-55, -82], [+55, -82]];
const HULL_POLYS: readonly (readonly [number, number][])[] = [
  [[-60, +130], [+60, +130], [+60, +110], [-60, +110]],
  [[-15, +120], [+15, +120], [+20, +20], [-20, 20]],
  [[+25, +20], [+50, -10], [+50, -40], [+20, -90], [-20, -90], [-50, -40], [-50, -10], [-25, +20]],
  [[-50, -120], [+50, -120], [+50, -90], [-50, -90]],
];
const WHEEL_POLY: readonly [number, number][] = [[-WHEEL_W, +WHEEL_R], [+WHEEL_W, +WHEEL_R], [+WHEEL_W, -WHEEL_R], [-WHEEL_W, -WHEEL_R]];
const BRAKE_FORCE = 15; // radians per second
/** The friction coefficient Gymnasium's tuning multiplies speed differences by, to damp oscillations. */
const FORCE_GAIN = 205000 * SIZE * SIZE;

/** A road tile as the wheels see it (the env owns the rest of it). */
export interface TileRef {
  readonly idx: number;
  readonly roadFriction: number;
}

/** A skid mark (drawn only in `render()`, not in observations). */
export interface Particle {
  readonly color: readonly [number, number, number];
  readonly poly: [number, number][];
  readonly grass: boolean;
}
export const WHEEL_COLOR: readonly [number, number, number] = [0, 0, 0];
export const WHEEL_WHITE: readonly [number, number, number] = [77, 77, 77];
const MUD_COLOR: readonly [number, number, number] = [102, 102, 0];
const MAX_PARTICLES = 30;

export interface Wheel {
  readonly body: planck.Body;
  readonly joint: planck.RevoluteJoint;
  readonly wheelRad: number;
  gas: number;
  brake: number;
  steer: number;
  /** Wheel angle (radians) and angular velocity, integrated outside the engine. */
  phase: number;
  omega: number;
  /** Tiles under the wheel (Gymnasium's set: only its largest friction is read). */
  readonly tiles: Set<TileRef>;
  skidStart: [number, number] | null;
  skidParticle: Particle | null;
}


export class Car {
  readonly hull: planck.Body;
  readonly wheels: Wheel[] = [];
  readonly particles: Particle[] = [];

  constructor(
    readonly world: planck.World,
    initAngle: number,
    initX: number,
    initY: number,
  ) {
    this.hull = world.createDynamicBody({ position: planck.Vec2(f32(initX), f32(initY)), angle: f32(initAngle) });
    for (const poly of HULL_POLYS) addFixture(this.hull, polygon(poly.map(([x, y]) => [f32(x * SIZE), f32(y * SIZE)])), { density: 1.0 });
    for (const [wx, wy] of WHEELPOS) {
      // Placed without rotating the offset (as Gymnasium does): the first step's joint correction
      // pulls the wheels into place.
      const body = world.createDynamicBody({ position: planck.Vec2(f32(initX + wx * SIZE), f32(initY + wy * SIZE)), angle: f32(initAngle) });
      addFixture(body, polygon(WHEEL_POLY.map(([x, y]) => [f32(x * SIZE), f32(y * SIZE)])), {
        density: 0.1,
        categoryBits: 0x0020,
        maskBits: 0x001,
        restitution: 0.0,
      });
      const joint = world.createJoint(
        new planck.RevoluteJoint({
          bodyA: this.hull,
          bodyB: body,
          localAnchorA: planck.Vec2(f32(wx * SIZE), f32(wy * SIZE)),
          localAnchorB: planck.Vec2(0, 0),
          enableMotor: true,
          enableLimit: true,
          maxMotorTorque: f32(180 * 900 * SIZE * SIZE),
          motorSpeed: 0,
          lowerAngle: f32(-0.4),
          upperAngle: f32(+0.4),
        }),
      )!;
      this.wheels.push({
        body,
        joint,
        wheelRad: 1.0 * WHEEL_R * SIZE,
        gas: 0,
        brake: 0,
        steer: 0,
        phase: 0,
        omega: 0,
        tiles: new Set(),
        skidStart: null,
        skidParticle: null,
      });
    }
  }

  /** Rear-wheel drive: the pedal rises by at most 0.1 a step, and drops at once. */
  gas(gas: number): void {
    const g = Math.min(Math.max(gas, 0), 1);
    for (const w of this.wheels.slice(2, 4)) {
      let diff = g - w.gas;
      if (diff > 0.1) diff = 0.1;
      w.gas += diff;
    }
  }

  /** 0..1; from 0.9 on the wheels lock. Not clipped (Gymnasium passes it through). */
  brake(b: number): void {
    for (const w of this.wheels) w.brake = b;
  }

  /** The target angle of the front wheels (-1..1, not clipped); the joint motor turns them towards it. */
  steer(s: number): void {
    this.wheels[0].steer = s;
    this.wheels[1].steer = s;
  }

  step(dt: number): void {
    for (const w of this.wheels) {
      const jointAngle = f32(w.joint.getJointAngle());
      const steerDir = Math.sign(w.steer - jointAngle);
      const steerVal = Math.abs(w.steer - jointAngle);
      w.joint.setMotorSpeed(f32(steerDir * Math.min(50.0 * steerVal, 3.0)));

      let grass = true;
      let frictionLimit = FRICTION_LIMIT * 0.6; // grass, when no tile is under the wheel
      for (const tile of w.tiles) {
        frictionLimit = Math.max(frictionLimit, FRICTION_LIMIT * tile.roadFriction);
        grass = false;
      }

      // GetWorldVector((0, 1)) and ((1, 0)): the columns of the body's rotation.
      const { c, s } = w.body.getTransform().q;
      const forwX = -s;
      const forwY = c;
      const sideX = c;
      const sideY = s;
      const v = w.body.getLinearVelocity();
      const vf = forwX * v.x + forwY * v.y;
      const vs = sideX * v.x + sideY * v.y;

      w.omega += (((dt * ENGINE_POWER * w.gas) / WHEEL_MOMENT_OF_INERTIA) / (Math.abs(w.omega) + 5.0));
      if (w.brake >= 0.9) w.omega = 0;
      else if (w.brake > 0) {
        const dir = -Math.sign(w.omega);
        let val = BRAKE_FORCE * w.brake;
        if (Math.abs(val) > Math.abs(w.omega)) val = Math.abs(w.omega); // low speed: same as 0
        w.omega += dir * val;
      }
      w.phase += w.omega * dt;

      const vr = w.omega * w.wheelRad;
      let fForce = (-vf + vr) * FORCE_GAIN;
      let pForce = -vs * FORCE_GAIN;
      let force = Math.sqrt(fForce * fForce + pForce * pForce);

      if (Math.abs(force) > 2.0 * frictionLimit) this.#skid(w, grass);
      else {
        w.skidStart = null;
        w.skidParticle = null;
      }

      if (Math.abs(force) > frictionLimit) {
        fForce /= force;
        pForce /= force;
        force = frictionLimit;
        fForce *= force;
        pForce *= force;
      }
      w.omega -= (dt * fForce * w.wheelRad) / WHEEL_MOMENT_OF_INERTIA;
      w.body.applyForceToCenter(planck.Vec2(f32(pForce * sideX + fForce * forwX), f32(pForce * sideY + fForce * forwY)), true);
    }
  }

  /** A skid mark grows while the wheel slides on the same ground (at most 30 points), as car_dynamics.py traces it. */
  #skid(w: Wheel, grass: boolean): void {
    const p = w.body.getPosition();
    const here: [number, number] = [p.x, p.y];
    if (w.skidParticle && w.skidParticle.grass === grass && w.skidParticle.poly.length < 30) w.skidParticle.poly.push(here);
    else if (w.skidStart === null) w.skidStart = here;
    else {
      const particle: Particle = { color: grass ? MUD_COLOR : WHEEL_COLOR, poly: [w.skidStart, here], grass };
      this.particles.push(particle);
      if (this.particles.length > MAX_PARTICLES) this.particles.shift();
      w.skidParticle = particle;
      w.skidStart = null;
    }
  }
}
