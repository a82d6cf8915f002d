// Helpers of the history tests: a workload that overwrites chunks, extends
// datasets, creates files and sets and deletes attributes, recording the
// whole visible state after every commit; and that state's text.
#pragma once

#include <cstdint>
#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "h5tx/store.hpp"
#include "store_redo_util.hpp"

namespace history_test {

// Every file, dataset (spec and every chunk's raw bytes, hashed) and
// attribute the transaction sees, as text.
inline std::string dump_state(h5tx::Transaction& tx) {
  std::ostringstream o;
  auto attrs = [&](const std::string& f, const std::string& obj) {
    for (const auto& n : tx.list_attributes(f, obj)) {
      h5tx::AttributeValue v = tx.get_attribute(f, obj, n);
      o << "  attr " << obj << "@" << n << " = "
        << (v.is_string
                ? v.text
                : std::to_string(std::hash<std::string>()(std::string(v.bytes.begin(), v.bytes.end()))))
        << "\n";
    }
  };
  for (const auto& f : tx.list_files()) {
    o << "file " << f << "\n";
    attrs(f, "/");
    for (const auto& d : tx.list_datasets(f)) {
      h5tx::DatasetSpec s = tx.dataset_spec(f, d);
      o << " dataset " << d << " " << h5tx::dtype_name(s.dtype) << " shape";
      for (auto x : s.shape) o << " " << x;
      o << "\n";
      attrs(f, d);
      // Every chunk of the extent (rank 2 in these tests).
      uint64_t rows = (s.shape[0] + s.chunk[0] - 1) / s.chunk[0];
      uint64_t cols = (s.shape[1] + s.chunk[1] - 1) / s.chunk[1];
      for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++) {
          std::vector<uint8_t> b = tx.read_chunk(f, d, {r, c});
          o << "  chunk " << r << "," << c << " " << std::hash<std::string>()(std::string(b.begin(), b.end()))
            << "\n";
        }
    }
  }
  return o.str();
}

// `n` transactions on `store` (seeded): the state after each, by txid.
// `dump` describes the state (default: dump_state).
inline std::map<uint64_t, std::string> run_history_workload(
    h5tx::Store& store, int n, uint32_t seed,
    const std::function<std::string(h5tx::Transaction&)>& dump = dump_state) {
  std::map<uint64_t, std::string> recorded;
  std::mt19937 rng(seed);
  auto record = [&](uint64_t txid) {
    auto r = store.begin(h5tx::read_only_tx());
    recorded[txid] = dump(r);
  };
  {
    auto tx = store.begin();
    tx.create_file("a.h5");
    tx.create_dataset("a.h5", "/grid", redo_test::grid_spec(2));
    tx.set_attribute("a.h5", "/", "title", h5tx::AttributeValue::string("start"));
    tx.commit();
    record(store.stats().last_txid);
  }
  bool have_b = false;
  for (int i = 0; i < n; i++) {
    auto tx = store.begin();
    int ops = 1 + int(rng() % 3);
    for (int k = 0; k < ops; k++) {
      uint32_t what = rng() % 10;
      if (what == 9 && !have_b) {
        tx.create_file("b.h5");
        tx.create_dataset("b.h5", "/x/b", redo_test::grid_spec(1, true));
        have_b = true;
      } else if (what == 8) {
        h5tx::DatasetSpec s = tx.dataset_spec("a.h5", "/grid");
        if (s.shape[0] < 48) tx.extend_dataset("a.h5", "/grid", {s.shape[0] + 8, s.shape[1]});
      } else if (what == 7) {
        std::string obj = rng() % 2 ? "/" : "/grid";
        tx.set_attribute("a.h5", obj, "n" + std::to_string(rng() % 3),
                         h5tx::AttributeValue::scalar<int64_t>(rng()));
      } else if (what == 6) {
        std::string obj = rng() % 2 ? "/" : "/grid";
        std::string name = "n" + std::to_string(rng() % 3);
        auto names = tx.list_attributes("a.h5", obj);
        if (std::find(names.begin(), names.end(), name) != names.end())
          tx.delete_attribute("a.h5", obj, name);
      } else {
        bool b = have_b && rng() % 3 == 0;
        const char* f = b ? "b.h5" : "a.h5";
        const char* d = b ? "/x/b" : "/grid";
        h5tx::DatasetSpec s = tx.dataset_spec(f, d);
        uint64_t r = rng() % (s.shape[0] / 8), c = rng() % 4;
        tx.write_chunk(f, d, {r, c}, redo_test::chunk_bytes(uint32_t(rng()), r, c));
      }
    }
    tx.commit();
    record(store.stats().last_txid);
  }
  return recorded;
}

}  // namespace history_test
