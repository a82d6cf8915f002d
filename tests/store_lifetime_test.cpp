// The public object model (issue 12): store.hpp compiles on its own (this
// file includes no internal header before it), every public type can be
// default-constructed and moved, and a transaction that outlives its Store
// is safe in both modes: StateError for every call, a quiet destructor, no
// use after free (CI runs this under ASan).
#include "h5tx/store.hpp"
#include "h5tx/undo.hpp"

#include <catch2/catch.hpp>

#include <type_traits>
#include <utility>

#include "test_util.hpp"

using namespace h5tx;

static_assert(std::is_nothrow_move_constructible<Transaction>::value, "Transaction moves");
static_assert(std::is_nothrow_move_assignable<Transaction>::value, "Transaction move-assigns");
static_assert(!std::is_copy_constructible<Transaction>::value, "Transaction is move-only");
static_assert(!std::is_copy_constructible<Store>::value, "Store is not copyable");
static_assert(std::is_nothrow_move_constructible<UndoFile>::value, "UndoFile moves");
static_assert(std::is_nothrow_move_assignable<UndoFile>::value, "UndoFile move-assigns");
static_assert(!std::is_copy_constructible<UndoFile>::value, "UndoFile is move-only");
static_assert(std::is_nothrow_move_constructible<UndoTransaction>::value, "UndoTransaction moves");
static_assert(!std::is_copy_constructible<UndoTransaction>::value, "UndoTransaction is move-only");

TEST_CASE("lifetime: public types default-construct and move", "[lifetime][contract]") {
  Transaction empty;
  CHECK_FALSE(empty.active());
  CHECK_THROWS_AS(empty.commit(), StateError);
  Transaction moved(std::move(empty));
  CHECK_FALSE(moved.active());
  Options o;
  TxOptions t;
  DatasetSpec s;
  AttributeValue a;
  StoreStats st;
  TransactionInfo info;
  Savepoint sp;
  UndoOptions uo;
  (void)o, (void)t, (void)s, (void)a, (void)st, (void)info, (void)sp, (void)uo;
  CHECK_FALSE(t.read_only);
  CHECK(read_only_tx().read_only);
  CHECK(t.timeout == std::chrono::seconds(10));
}

TEST_CASE("lifetime: a transaction that outlives its Store gets StateError, never undefined behaviour",
          "[lifetime][contract]") {
  for (Mode mode : {Mode::Redo, Mode::Undo}) {
    h5tx_test::TempDir dir("lifetime");
    Options o;
    o.mode = mode;
    Transaction kept;
    Transaction reader;
    {
      auto store = Store::create(dir / "s", o);
      {
        auto tx = store->begin();
        tx.create_file("a.h5");
        tx.commit();
      }
      kept = store->begin();
      kept.set_message("outlives the store");
      if (mode == Mode::Redo) {
        TxOptions ro;
        ro.read_only = true;
        reader = store->begin(ro);
      }
    }  // the Store is closed and destroyed here
    std::vector<std::string> expect{"a.h5"};
    if (mode == Mode::Redo) {
      // The store's state is alive, the store is not: StateError.
      CHECK_THROWS_AS(kept.list_files(), StateError);
      CHECK_THROWS_AS(kept.create_file("b.h5"), StateError);
      CHECK_THROWS_AS(kept.commit(), StateError);
      CHECK_THROWS_AS(reader.list_files(), StateError);
      kept = Transaction();  // aborts the old one quietly
    } else {
      // Undo mode: a transaction that was running when its store closed
      // keeps the store (and its LOCK) until it ends, then releases them.
      CHECK(kept.list_files() == std::vector<std::string>{"a.h5"});
      kept.create_file("b.h5");
      kept.commit();
      expect.push_back("b.h5");
    }
    CHECK_FALSE(kept.active());
    // The store opens again, with what was committed.
    auto again = Store::open(dir / "s", o);
    auto r = again->begin();
    CHECK(r.list_files() == expect);
  }
}
