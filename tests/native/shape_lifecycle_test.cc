// The shape's state machine (shape.h) on its own: each row of the table is one
// transition — a request in flight, an answer — and the step and phase it must
// produce. The engine-level scenarios (sync_scenarios_test.cc) drive the same
// transitions through a fake server; these pin the decision itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shape.h"

namespace electrolite {
namespace {

using Action = ShapeStep::Action;
using Phase = Shape::Phase;

class FixedEnv : public Env {
 public:
  uint64_t RandomU64() override { return 0x8000000000000000ULL; }  // RandomUnit() = 0.5
};

ShapeDef ItemsDef() {
  ShapeDef d;
  d.table = "items";
  d.id = "items";
  return d;
}

const Headers kOkHeaders = {{"electric-handle", "h1"},
                            {"electric-offset", "0_0"},
                            {"electric-schema", "{}"}};

struct Transition {
  const char* id;
  int status;
  Headers headers;
  std::string body;
  Action action;
  Phase phase;
  Code error = Code::kOk;  // the first error the step reports
};

TEST(ShapeLifecycleTest, TransitionTable) {
  const std::vector<Transition> table = {
      {"T1 200 with every header -> apply", 200, kOkHeaders, "[]", Action::kApply, Phase::kReady},
      {"T2 200 without electric-schema -> fail", 200,
       {{"electric-handle", "h1"}, {"electric-offset", "0_0"}}, "[]", Action::kFail, Phase::kError,
       Code::kProtocol},
      {"T3 200 with a malformed offset -> wait", 200,
       {{"electric-handle", "h1"}, {"electric-offset", "x"}, {"electric-schema", "{}"}}, "[]",
       Action::kWait, Phase::kWaiting, Code::kProtocol},
      {"T4 409 -> refetch", 409, {{"electric-handle", "h2"}}, "[]", Action::kRefetch, Phase::kReady},
      {"T5 401 -> auth", 401, {}, "{}", Action::kAuth, Phase::kAuth, Code::kAuth},
      {"T6 403 -> auth", 403, {}, "{}", Action::kAuth, Phase::kAuth, Code::kAuth},
      {"T7 429 -> wait", 429, {}, "", Action::kWait, Phase::kWaiting},
      {"T8 503 -> wait", 503, {}, "", Action::kWait, Phase::kWaiting},
      {"T9 408 -> fail, as every 4xx but 429", 408, {}, "", Action::kFail, Phase::kError,
       Code::kProtocol},
      {"T10 404 -> fail", 404, {}, "", Action::kFail, Phase::kError, Code::kNotFound},
      {"T11 400 for the definition -> fail", 400, {},
       R"({"errors":{"where":["syntax error"]}})", Action::kFail, Phase::kError,
       Code::kInvalidArgument},
      {"T12 302 -> fail", 302, {}, "", Action::kFail, Phase::kError, Code::kProtocol},
  };
  for (const Transition& t : table) {
    SCOPED_TRACE(t.id);
    FixedEnv env;
    Shape shape(ItemsDef(), nullptr, &env, BackoffOptions());
    ShapeStep send = shape.Prepare(1000, /*live=*/false);
    ASSERT_EQ(send.action, Action::kSend);
    shape.Sent(7, 1000, 30000, /*live=*/false);
    EXPECT_TRUE(shape.InFlight(7));
    EXPECT_EQ(shape.Deadline(), 31000);
    ShapeStep step = shape.OnResponse(1100, t.status, t.headers, t.body);
    EXPECT_EQ(step.action, t.action);
    EXPECT_EQ(shape.phase(), t.phase);
    EXPECT_FALSE(shape.InFlight(7));
    EXPECT_TRUE(shape.attempted());
    if (t.error == Code::kOk) {
      EXPECT_TRUE(step.errors.empty());
    } else {
      ASSERT_FALSE(step.errors.empty());
      EXPECT_EQ(step.errors.front().code(), t.error);
    }
    if (t.phase == Phase::kWaiting) {
      EXPECT_GT(shape.Deadline(), 1100);
      EXPECT_TRUE(step.disconnected);
      EXPECT_FALSE(shape.Prepare(shape.Deadline() - 1, false).action == Action::kSend);
      EXPECT_EQ(shape.Prepare(shape.Deadline(), false).action, Action::kSend);
    }
    if (t.phase == Phase::kError || t.phase == Phase::kAuth) {
      EXPECT_TRUE(shape.ShowsError());
      EXPECT_EQ(shape.Deadline(), -1);
      EXPECT_EQ(shape.Prepare(10000000, false).action, Action::kNone);
    }
  }
}

TEST(ShapeLifecycleTest, RetryAfterIsAFloorOfTheWait) {
  FixedEnv env;
  Shape shape(ItemsDef(), nullptr, &env, BackoffOptions());
  ASSERT_EQ(shape.Prepare(0, false).action, Action::kSend);
  shape.Sent(1, 0, 30000, false);
  ShapeStep step = shape.OnResponse(0, 503, {{"retry-after", "9"}}, "");
  EXPECT_EQ(step.action, Action::kWait);
  EXPECT_EQ(shape.Deadline(), 9000);
}

TEST(ShapeLifecycleTest, AuthStopResumesOnANewToken) {
  FixedEnv env;
  Shape shape(ItemsDef(), nullptr, &env, BackoffOptions());
  ASSERT_EQ(shape.Prepare(0, false).action, Action::kSend);
  shape.Sent(1, 0, 30000, false);
  ASSERT_EQ(shape.OnResponse(0, 401, {}, "").action, Action::kAuth);
  shape.TokenChanged();
  EXPECT_EQ(shape.phase(), Phase::kReady);
  EXPECT_TRUE(shape.error().ok());
  EXPECT_EQ(shape.Prepare(1, false).action, Action::kSend);
}

TEST(ShapeLifecycleTest, ANetworkErrorWaitsAtMostTheProbeIntervalAndResumesWhenTheServerAnswers) {
  FixedEnv env;
  BackoffOptions slow;
  slow.initial_ms = 60000;
  slow.max_ms = 60000;
  Shape shape(ItemsDef(), nullptr, &env, slow);
  ASSERT_EQ(shape.Prepare(0, false).action, Action::kSend);
  shape.Sent(1, 0, 30000, false);
  EXPECT_FALSE(shape.TimedOut(29999));
  EXPECT_TRUE(shape.TimedOut(30000));
  ShapeStep step = shape.NetworkError(30000);
  EXPECT_EQ(step.action, Action::kWait);
  EXPECT_LE(shape.Deadline(), 30000 + kUnreachableProbeMaxMs);
  EXPECT_GE(shape.Deadline(), 30000 + kUnreachableProbeMaxMs / 2);
  shape.ServerAnswered(30010, 0);
  EXPECT_EQ(shape.Deadline(), 30010);
}

TEST(ShapeLifecycleTest, AppliedClearsTheBackoffAndTheError) {
  FixedEnv env;
  Shape shape(ItemsDef(), nullptr, &env, BackoffOptions());
  ASSERT_EQ(shape.Prepare(0, false).action, Action::kSend);
  shape.Sent(1, 0, 30000, false);
  ShapeStep step = shape.OnResponse(0, 500, {}, "");
  ASSERT_EQ(step.action, Action::kWait);
  EXPECT_EQ(shape.retries(), 1);
  ASSERT_EQ(shape.Prepare(shape.Deadline(), false).action, Action::kSend);
  shape.Sent(2, shape.Deadline(), 30000, false);
  ASSERT_EQ(shape.OnResponse(2000, 200, kOkHeaders, "[]").action, Action::kApply);
  ShapeState next = shape.state();
  next.handle = "h1";
  next.offset = "0_0";
  next.up_to_date = true;
  shape.Applied(next, /*up_to_date=*/true);
  EXPECT_EQ(shape.retries(), 0);
  EXPECT_TRUE(shape.WantsLive());
  EXPECT_FALSE(shape.ShowsError());
  EXPECT_TRUE(shape.connected());
}

TEST(ShapeLifecycleTest, AnApplyThatKeepsFailingGivesUp) {
  FixedEnv env;
  Shape shape(ItemsDef(), nullptr, &env, BackoffOptions());
  int64_t now = 0;
  ShapeStep step;
  for (int i = 0; i < 60 && shape.phase() != Phase::kError; i++) {
    ASSERT_EQ(shape.Prepare(now, false).action, Action::kSend) << i;
    shape.Sent(i + 1, now, 30000, false);
    ASSERT_EQ(shape.OnResponse(now, 200, kOkHeaders, "[]").action, Action::kApply);
    step = shape.ApplyFailed(now, Status::Corruption("disk"));
    now = std::max(now + 1000, shape.Deadline());
  }
  EXPECT_EQ(step.action, Action::kFail);
  EXPECT_EQ(shape.retries(), 49);
  ASSERT_EQ(step.errors.size(), 2u);  // the failure itself, then the stop
  EXPECT_NE(step.errors[1].message().find("giving up after 50"), std::string::npos);
}

}  // namespace
}  // namespace electrolite
