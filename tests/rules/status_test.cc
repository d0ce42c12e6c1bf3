#include "rules/status.h"

#include <catch2/catch.hpp>

using vigil::Result;
using vigil::Status;

TEST_CASE("Status carries its code and message", "[status]") {
  Status ok;
  CHECK(ok.ok());
  CHECK(ok.ToString() == "OK");
  Status bad = Status::InvalidArgument("line 3: missing id");
  CHECK_FALSE(bad.ok());
  CHECK(bad.IsInvalidArgument());
  CHECK(bad.ToString() == "Invalid argument: line 3: missing id");
}

TEST_CASE("Result holds a value or a status", "[status]") {
  Result<int> good = 42;
  REQUIRE(good.ok());
  CHECK(*good == 42);
  Result<int> bad = Status::NotFound("no such pack");
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().IsNotFound());
}
