#include "status.h"

#include <gtest/gtest.h>

namespace electrolite {
namespace {

TEST(StatusTest, JsonCarriesStableCode) {
  EXPECT_EQ(Status::Ok().ToJson(), "{\"ok\":true}");
  EXPECT_EQ(Status::Protocol("bad \"x\"").ToJson(),
            "{\"ok\":false,\"code\":\"protocol\",\"message\":\"bad \\\"x\\\"\"}");
  EXPECT_STREQ(CodeName(Code::kStorageFull), "storage_full");
}

}  // namespace
}  // namespace electrolite
