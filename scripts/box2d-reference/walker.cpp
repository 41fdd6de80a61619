// Gymnasium's BipedalWalker world on Box2D 2.3.0's own C++ (pybox2d 2.3.10's Box2D/ sources), for
// measuring gym-tcp's engine against the engine Gymnasium runs (docs/box2d.md, "How far the rest is").
// Built and driven by scripts/box2d-reference.ts, which writes the world file: the push, the obstacle
// polygons and the terrain points as gym-tcp's reset made them, then the episode's actions.
// Bodies, fixtures and joints are made in bipedal_walker.py's order with pybox2d's defaults
// (friction 0.2, referenceAngle = bodyB.angle - bodyA.angle); Python doubles become float32 as
// pybox2d converts them. Prints one line per step (the reset's step first): per body (hull, then
// the legs as Gymnasium lists them) x y angle vx vy w, then per joint angle speed.
// Environment: NOTOI=1 turns continuous collision off; TRACE=n prints each contact's manifold before
// the solve and its impulses after, up to step n (bodies: 1 hull, 2..5 legs, 100+ terrain bodies).
#include <Box2D/Box2D.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

static const double SCALE = 30.0, LEG_DOWN = -8 / SCALE, LEG_W = 8 / SCALE, LEG_H = 34 / SCALE;
static const double TERRAIN_STEP = 14 / SCALE, TERRAIN_HEIGHT = 400 / SCALE / 4;
static int stepNo = -1;
static int traceUpTo = getenv("TRACE") ? atoi(getenv("TRACE")) : -2;

static int bodyId(b2Body* b) { return (int)(intptr_t)b->GetUserData(); }

struct Tracer : b2ContactListener {
  void PreSolve(b2Contact* c, const b2Manifold*) {
    if (stepNo > traceUpTo) return;
    const b2Manifold* m = c->GetManifold();
    printf("# pre step %d bodies %d %d type %d normal %.9g %.9g point %.9g %.9g", stepNo, bodyId(c->GetFixtureA()->GetBody()), bodyId(c->GetFixtureB()->GetBody()), m->type,
           m->localNormal.x, m->localNormal.y, m->localPoint.x, m->localPoint.y);
    for (int i = 0; i < m->pointCount; i++)
      printf(" | id %d %d %d %d at %.9g %.9g impulses %.9g %.9g", m->points[i].id.cf.indexA, m->points[i].id.cf.typeA, m->points[i].id.cf.indexB, m->points[i].id.cf.typeB,
             m->points[i].localPoint.x, m->points[i].localPoint.y, m->points[i].normalImpulse, m->points[i].tangentImpulse);
    printf("\n");
  }
  void PostSolve(b2Contact* c, const b2ContactImpulse* impulse) {
    if (stepNo > traceUpTo) return;
    printf("# post step %d bodies %d %d", stepNo, bodyId(c->GetFixtureA()->GetBody()), bodyId(c->GetFixtureB()->GetBody()));
    for (int i = 0; i < impulse->count; i++) printf(" | impulses %.9g %.9g", impulse->normalImpulses[i], impulse->tangentImpulses[i]);
    printf("\n");
  }
};

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: walker WORLD_FILE [STEPS]\n"); return 2; }
  FILE* f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 2; }
  const int maxSteps = argc > 2 ? atoi(argv[2]) : -1;
  char word[64];
  double push;
  int n;
  if (fscanf(f, "%63s %lf", word, &push) != 2) return 2;
  b2World world(b2Vec2(0, -10));
  if (getenv("NOTOI")) world.SetContinuousPhysics(false);
  Tracer tracer;
  world.SetContactListener(&tracer);
  intptr_t staticId = 100;
  if (fscanf(f, "%63s %d", word, &n) != 2) return 2;
  for (int k = 0; k < n; k++) {
    int m;
    if (fscanf(f, "%d", &m) != 1 || m > b2_maxPolygonVertices) return 2;
    b2Vec2 v[b2_maxPolygonVertices];
    for (int i = 0; i < m; i++) { double x, y; if (fscanf(f, "%lf %lf", &x, &y) != 2) return 2; v[i].Set((float32)x, (float32)y); }
    b2PolygonShape shape; shape.Set(v, m);
    b2FixtureDef fd; fd.shape = &shape; fd.friction = 2.5f;
    b2BodyDef bd; bd.type = b2_staticBody; bd.userData = (void*)staticId++;
    world.CreateBody(&bd)->CreateFixture(&fd);
  }
  if (fscanf(f, "%63s %d", word, &n) != 2) return 2;
  std::vector<double> tx(n), ty(n);
  for (int i = 0; i < n; i++) if (fscanf(f, "%lf %lf", &tx[i], &ty[i]) != 2) return 2;
  for (int i = 0; i + 1 < n; i++) {
    b2EdgeShape edge;
    edge.Set(b2Vec2((float32)tx[i], (float32)ty[i]), b2Vec2((float32)tx[i + 1], (float32)ty[i + 1]));
    b2FixtureDef fd; fd.shape = &edge; fd.friction = 2.5f; fd.filter.categoryBits = 1;
    b2BodyDef bd; bd.type = b2_staticBody; bd.userData = (void*)staticId++;
    world.CreateBody(&bd)->CreateFixture(&fd);
  }
  const double initX = TERRAIN_STEP * 20 / 2, initY = TERRAIN_HEIGHT + 2 * LEG_H;
  b2BodyDef hd; hd.type = b2_dynamicBody; hd.position.Set((float32)initX, (float32)initY); hd.userData = (void*)1;
  b2Body* hull = world.CreateBody(&hd);
  {
    const double P[5][2] = {{-30, +9}, {+6, +9}, {+34, +1}, {+34, -8}, {-30, -8}};
    b2Vec2 v[5];
    for (int i = 0; i < 5; i++) v[i].Set((float32)(P[i][0] / SCALE), (float32)(P[i][1] / SCALE));
    b2PolygonShape shape; shape.Set(v, 5);
    b2FixtureDef fd; fd.shape = &shape; fd.density = 5.0f; fd.friction = 0.1f; fd.filter.categoryBits = 0x20; fd.filter.maskBits = 1;
    hull->CreateFixture(&fd);
  }
  hull->ApplyForceToCenter(b2Vec2((float32)push, 0), true);
  b2Body* legs[4];
  b2RevoluteJoint* joints[4];
  int k = 0;
  for (int i = -1; i <= 1; i += 2) {
    b2Body* parent = hull;
    for (int part = 0; part < 2; part++, k++) {
      const double halfWidth = part == 0 ? LEG_W / 2 : 0.8 * LEG_W / 2;
      b2BodyDef ld; ld.type = b2_dynamicBody; ld.angle = (float32)(i * 0.05); ld.userData = (void*)(intptr_t)(2 + k);
      ld.position.Set((float32)initX, (float32)(initY - (part == 0 ? LEG_H / 2 : LEG_H * 3 / 2) - LEG_DOWN));
      b2Body* leg = world.CreateBody(&ld);
      b2PolygonShape shape; shape.SetAsBox((float32)halfWidth, (float32)(LEG_H / 2));
      b2FixtureDef fd; fd.shape = &shape; fd.density = 1; fd.filter.categoryBits = 0x20; fd.filter.maskBits = 1;
      leg->CreateFixture(&fd);
      b2RevoluteJointDef rj; rj.bodyA = parent; rj.bodyB = leg;
      rj.localAnchorA.Set(0, (float32)(part == 0 ? LEG_DOWN : -LEG_H / 2));
      rj.localAnchorB.Set(0, (float32)(LEG_H / 2));
      rj.enableMotor = true; rj.enableLimit = true; rj.maxMotorTorque = 80;
      rj.motorSpeed = part == 0 ? (float32)i : 1.0f;
      rj.lowerAngle = part == 0 ? -0.8f : -1.6f;
      rj.upperAngle = part == 0 ? 1.1f : -0.1f;
      rj.referenceAngle = (float32)((double)leg->GetAngle() - (double)parent->GetAngle());
      legs[k] = leg;
      joints[k] = (b2RevoluteJoint*)world.CreateJoint(&rj);
      parent = leg;
    }
  }
  const double speeds[4] = {4, 6, 4, 6};
  auto step = [&](const double* a) {
    for (int j = 0; j < 4; j++) {
      const double sign = a[j] > 0 ? 1 : a[j] < 0 ? -1 : 0;
      joints[j]->SetMotorSpeed((float32)(speeds[j] * sign));
      joints[j]->SetMaxMotorTorque((float32)(80.0 * std::min(std::fabs(a[j]), 1.0)));
    }
    world.Step(1.0f / 50, 6 * 30, 2 * 30);
    stepNo++;
    b2Body* bodies[5] = {hull, legs[0], legs[1], legs[2], legs[3]};
    for (b2Body* b : bodies)
      printf("%.9g %.9g %.9g %.9g %.9g %.9g ", b->GetPosition().x, b->GetPosition().y, b->GetAngle(), b->GetLinearVelocity().x, b->GetLinearVelocity().y, b->GetAngularVelocity());
    for (int j = 0; j < 4; j++) printf("%.9g %.9g ", joints[j]->GetJointAngle(), joints[j]->GetJointSpeed());
    printf("\n");
  };
  const double zero[4] = {0, 0, 0, 0};
  step(zero);
  if (fscanf(f, "%63s %d", word, &n) != 2) return 2;
  for (int s = 0; s < n && (maxSteps < 0 || s < maxSteps); s++) {
    double a[4];
    if (fscanf(f, "%lf %lf %lf %lf", &a[0], &a[1], &a[2], &a[3]) != 4) return 2;
    step(a);
  }
  return 0;
}
