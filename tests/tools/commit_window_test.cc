#include "tools/commit_window.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using vigil::Status;
using vigil::tools::CommitWindow;

TEST_CASE("the commit window bounds writes in flight", "[commit_window]") {
  CommitWindow window(2);
  REQUIRE(window.Begin().ok());
  REQUIRE(window.Begin().ok());
  std::atomic<bool> third_started{false};
  Status third_status = Status::Internal("not started");
  std::thread third([&] {
    third_status = window.Begin();  // waits for room
    third_started = true;
    window.End(Status::Ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(third_started.load());
  int finished = 0;
  window.End(Status::Ok(), [&] { ++finished; });
  third.join();
  CHECK(third_started.load());
  CHECK(third_status.ok());
  window.End(Status::Ok(), [&] { ++finished; });
  CHECK(finished == 2);
  CHECK(window.Wait().ok());
}

TEST_CASE("the commit window keeps the first failure and refuses more writes", "[commit_window]") {
  CommitWindow window(4);
  REQUIRE(window.Begin().ok());
  REQUIRE(window.Begin().ok());
  window.End(Status::IOError("disk full"));
  window.End(Status::Corruption("later"));
  const Status begin = window.Begin();
  CHECK(begin.code() == Status::Code::kIOError);
  CHECK(begin.message() == "disk full");
  CHECK(window.Wait().code() == Status::Code::kIOError);
}
