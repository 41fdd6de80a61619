/**
 * Drawing a Box2D body the way Gymnasium's Box2D renderers do (lunar_lander.py and
 * bipedal_walker.py `render`): every fixture of a body in world coordinates times SCALE, a polygon
 * filled in its first colour and outlined in its second, an edge as a line, a circle as a disc.
 *
 * Gymnasium fills with `pygame.draw.polygon` and outlines with `gfxdraw.aapolygon` or
 * `pygame.draw.aalines`; here the fill is gfxdraw's scanline fill (src/render/gfxdraw.ts), which
 * covers the same pixels up to the edge ones the antialiased outline then paints over. No golden
 * Box2D frames exist to measure against: these frames show the state faithfully, not byte for byte.
 */
import { Canvas, type Rgb } from '../../render/canvas.js';
import { aalines } from '../../render/draw.js';
import { aapolygon, filledCircle, filledPolygon } from '../../render/gfxdraw.js';
import { planck } from './engine.js';

type Point = [number, number];

/** Where the frame's origin sits in the scene, in pixels (BipedalWalker scrolls with its hull). */
export interface View {
  readonly scale: number;
  readonly offsetX: number;
}

/** A fixture's outline in frame pixels, or its disc (centre and radius) for a circle. */
function fixtureGeometry(fixture: planck.Fixture, view: View): { path: Point[] } | { centre: Point; radius: number } {
  const transform = fixture.getBody().getTransform();
  const toFrame = (v: planck.Vec2Value): Point => {
    const w = planck.Transform.mulVec2(transform, v);
    return [w.x * view.scale - view.offsetX, w.y * view.scale];
  };
  const shape = fixture.getShape();
  switch (shape.getType()) {
    case 'circle': {
      const circle = shape as planck.CircleShape;
      return { centre: toFrame(circle.getCenter()), radius: circle.getRadius() * view.scale };
    }
    case 'edge': {
      const edge = shape as planck.EdgeShape;
      return { path: [toFrame(edge.m_vertex1), toFrame(edge.m_vertex2)] };
    }
    default:
      return { path: (shape as planck.PolygonShape).m_vertices.map(toFrame) };
  }
}

/** How a body's polygons are outlined: LunarLander strokes `aalines`, BipedalWalker `aapolygon`. */
export type Outline = 'aalines' | 'aapolygon';

/** Draws every fixture of `body`: fill in `fill`, outline in `stroke`, edges as antialiased lines. */
export function drawBody(canvas: Canvas, body: planck.Body, fill: Rgb, stroke: Rgb, view: View, outline: Outline): void {
  for (let fixture = body.getFixtureList(); fixture; fixture = fixture.getNext()) {
    const geometry = fixtureGeometry(fixture, view);
    if ('centre' in geometry) {
      filledCircle(canvas, Math.trunc(geometry.centre[0]), Math.trunc(geometry.centre[1]), Math.trunc(geometry.radius), stroke);
      continue;
    }
    const { path } = geometry;
    if (path.length < 3) {
      aalines(canvas, path, fill);
      continue;
    }
    filledPolygon(canvas, path, fill);
    aapolygon(canvas, path, fill);
    if (outline === 'aalines') aalines(canvas, [...path, path[0]], stroke);
    else aapolygon(canvas, path, stroke);
  }
}

/** A filled, antialiased polygon given in scene units (a sky or terrain patch, a cloud, a flag). */
export function drawPatch(canvas: Canvas, points: readonly Point[], colour: Rgb, view: View): void {
  const path = points.map(([x, y]): Point => [x * view.scale - view.offsetX, y * view.scale]);
  filledPolygon(canvas, path, colour);
  aapolygon(canvas, path, colour);
}
