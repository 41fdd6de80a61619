/**
 * pygame.math.Vector2.rotate_rad (pygame 2.1.2): the angle is reduced into [0, 2π) with fmod, and
 * within 1e-6 of a multiple of π/2 the rotation is exact (coordinates swapped and negated), else the
 * usual sin/cos. The exact cases matter: a pole at θ = 0 must give the same integer vertices.
 */
const TWO_PI = Math.PI * 2;
const HALF_PI = Math.PI / 2;
const EPSILON = 1e-6;

export function rotateRad(x: number, y: number, angle: number): [number, number] {
  angle %= TWO_PI;
  if (angle < 0) angle += TWO_PI;
  if ((angle + EPSILON) % HALF_PI < 2 * EPSILON) {
    switch (Math.trunc((angle + EPSILON) / HALF_PI)) {
      case 1:
        return [-y, x];
      case 2:
        return [-x, -y];
      case 3:
        return [y, -x];
      default:
        return [x, y];
    }
  }
  const s = Math.sin(angle);
  const c = Math.cos(angle);
  return [c * x - s * y, s * x + c * y];
}
