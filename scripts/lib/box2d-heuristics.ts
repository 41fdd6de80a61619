/**
 * Gymnasium's own LunarLander policy (`heuristic` in lunar_lander.py), ported for the behaviour
 * figures of `npm run golden -- --box2d` and for the tests: it lands on almost every seed, so its
 * returns show the physics, the shaping and the landing rules working together.
 * Arithmetic is float64 on the float32 observation, as NumPy 1's promotion does it.
 */
export function landerHeuristic(s: readonly number[], continuous: boolean): number | number[] {
  let angleTarg = s[0] * 0.5 + s[2] * 1.0; // point towards the centre
  if (angleTarg > 0.4) angleTarg = 0.4; // more than 0.4 rad (22°) is bad
  if (angleTarg < -0.4) angleTarg = -0.4;
  const hoverTarg = 0.55 * Math.abs(s[0]); // target height grows with the horizontal offset

  let angleTodo = (angleTarg - s[4]) * 0.5 - s[5] * 1.0;
  let hoverTodo = (hoverTarg - s[1]) * 0.5 - s[3] * 0.5;
  if (s[6] || s[7]) {
    // Legs down: only slow the fall.
    angleTodo = 0;
    hoverTodo = -s[3] * 0.5;
  }
  if (continuous) {
    return [hoverTodo * 20 - 1, -angleTodo * 20].map((a) => Math.min(Math.max(a, -1), 1));
  }
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > +0.05) return 1;
  return 0;
}

const STAY_ON_ONE_LEG = 1;
const PUT_OTHER_DOWN = 2;
const PUSH_OFF = 3;
const SPEED = 0.29; // faster falls forward
const SUPPORT_KNEE_ANGLE = +0.1;

/**
 * Gymnasium's `BipedalWalkerHeuristics` (bipedal_walker.py): a state machine over the legs. One
 * instance per episode; driven as that module's `__main__` does: the first action is [0, 0, 0, 0],
 * then `step(obs)` after each step. Arithmetic in float64 (NumPy 1's promotion; under NumPy 2 it is
 * float32 and the episodes differ: the policy is chaotic).
 */
export class WalkerHeuristic {
  state = STAY_ON_ONE_LEG;
  movingLeg = 0;
  supportingLeg = 1;
  supportingKneeAngle = SUPPORT_KNEE_ANGLE;

  step(s: readonly number[]): number[] {
    const movingBase = 4 + 5 * this.movingLeg;
    const supportingBase = 4 + 5 * this.supportingLeg;
    const hipTarg: (number | null)[] = [null, null]; // -0.8 .. +1.1
    const kneeTarg: (number | null)[] = [null, null]; // -0.6 .. +0.9
    const hipTodo = [0.0, 0.0];
    const kneeTodo = [0.0, 0.0];
    if (this.state === STAY_ON_ONE_LEG) {
      hipTarg[this.movingLeg] = 1.1;
      kneeTarg[this.movingLeg] = -0.6;
      this.supportingKneeAngle += 0.03;
      if (s[2] > SPEED) this.supportingKneeAngle += 0.03;
      this.supportingKneeAngle = Math.min(this.supportingKneeAngle, SUPPORT_KNEE_ANGLE);
      kneeTarg[this.supportingLeg] = this.supportingKneeAngle;
      if (s[supportingBase + 0] < 0.1) this.state = PUT_OTHER_DOWN; // supporting leg is behind
    }
    if (this.state === PUT_OTHER_DOWN) {
      hipTarg[this.movingLeg] = +0.1;
      kneeTarg[this.movingLeg] = SUPPORT_KNEE_ANGLE;
      kneeTarg[this.supportingLeg] = this.supportingKneeAngle;
      if (s[movingBase + 4]) {
        this.state = PUSH_OFF;
        this.supportingKneeAngle = Math.min(s[movingBase + 2], SUPPORT_KNEE_ANGLE);
      }
    }
    if (this.state === PUSH_OFF) {
      kneeTarg[this.movingLeg] = this.supportingKneeAngle;
      kneeTarg[this.supportingLeg] = +1.0;
      if (s[supportingBase + 2] > 0.88 || s[2] > 1.2 * SPEED) {
        this.state = STAY_ON_ONE_LEG;
        this.movingLeg = 1 - this.movingLeg;
        this.supportingLeg = 1 - this.movingLeg;
      }
    }
    // Python's `if hip_targ[0]:` skips None and 0.0 alike.
    if (hipTarg[0]) hipTodo[0] = 0.9 * (hipTarg[0] - s[4]) - 0.25 * s[5];
    if (hipTarg[1]) hipTodo[1] = 0.9 * (hipTarg[1] - s[9]) - 0.25 * s[10];
    if (kneeTarg[0]) kneeTodo[0] = 4.0 * (kneeTarg[0] - s[6]) - 0.25 * s[7];
    if (kneeTarg[1]) kneeTodo[1] = 4.0 * (kneeTarg[1] - s[11]) - 0.25 * s[12];
    hipTodo[0] -= 0.9 * (0 - s[0]) - 1.5 * s[1]; // keep the head straight
    hipTodo[1] -= 0.9 * (0 - s[0]) - 1.5 * s[1];
    kneeTodo[0] -= 15.0 * s[3]; // vertical speed, to damp oscillations
    kneeTodo[1] -= 15.0 * s[3];
    return [hipTodo[0], kneeTodo[0], hipTodo[1], kneeTodo[1]].map((a) => Math.min(Math.max(0.5 * a, -1.0), 1.0));
  }
}
