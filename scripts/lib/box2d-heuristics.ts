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
