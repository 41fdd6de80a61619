/**
 * pygame.math.Vector2.rotate_rad (pygame 2.1.2): the angle is reduced into [0, 2π) with fmod, and
 * within 1e-6 of a multiple of π/2 the rotation is exact (coordinates swapped and negated), else the
 * usual sin/cos. The exact cases matter: a pole at θ = 0 must give the same integer vertices.
 */
const TWO_PI = Math.PI * 2;
const HALF_PI = Math.PI / 2;
const EPSILON = 1e-6;

/** A rotation by one angle, worked out once for many points: a quarter turn (0-3) when exact, else -1 with sin and cos. */
export interface Rotation {
  readonly quarter: number;
  readonly s: number;
  readonly c: number;
}

export function rotation(angle: number): Rotation {
  angle %= TWO_PI;
  if (angle < 0) angle += TWO_PI;
  if ((angle + EPSILON) % HALF_PI < 2 * EPSILON) return { quarter: Math.trunc((angle + EPSILON) / HALF_PI) % 4, s: 0, c: 1 };
  return { quarter: -1, s: Math.sin(angle), c: Math.cos(angle) };
}

/** The rotated x of (x, y) (`rotateRad`'s first coordinate, without the pair). */
export function rotatedX(r: Rotation, x: number, y: number): number {
  switch (r.quarter) {
    case -1:
      return r.c * x - r.s * y;
    case 1:
      return -y;
    case 2:
      return -x;
    case 3:
      return y;
    default:
      return x;
  }
}

/** The rotated y of (x, y). */
export function rotatedY(r: Rotation, x: number, y: number): number {
  switch (r.quarter) {
    case -1:
      return r.s * x + r.c * y;
    case 1:
      return x;
    case 2:
      return -y;
    case 3:
      return -x;
    default:
      return y;
  }
}

export function rotateRad(x: number, y: number, angle: number): [number, number] {
  const r = rotation(angle);
  return [rotatedX(r, x, y), rotatedY(r, x, y)];
}
