// Helpers shared by the io tests.
#pragma once

#include <catch2/catch.hpp>
#include <stdexcept>

namespace h5tx_test {

// Runs `fn` and returns the exception of type E it throws; fails the test
// if it throws nothing.
template <class E, class Fn>
E catch_error(Fn fn) {
  try {
    fn();
  } catch (const E& e) {
    return e;
  }
  FAIL("expected an exception");
  throw std::logic_error("unreachable");
}

}  // namespace h5tx_test
